"""One run at a time per script: the second waits for the first, refuses when told not to wait, and takes over the
lock of a run that died, exactly one waiter at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from pipeline.storage.locks import Holder, ScriptBusyError, script_lock
from pipeline.storage.store import ObjectStore
from tests.conftest import REPO


def test_a_second_run_waits_for_the_first_and_is_told_who_it_waits_for(store: ObjectStore) -> None:
    events: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with script_lock(store, "acme", "ep01", "run-1", wait=0):
            first_in.set()
            events.append("first in")
            time.sleep(1.0)
            events.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    told: list[Holder] = []
    with script_lock(store, "acme", "ep01", "run-2", wait=30, poll=0.1, on_wait=told.append):
        events.append("second in")
    thread.join()
    assert events == ["first in", "first out", "second in"]
    assert [h.run_id for h in told] == ["run-1"] and told[0].pid == os.getpid()


def test_without_a_wait_a_busy_script_is_refused_naming_the_holder(store: ObjectStore) -> None:
    with script_lock(store, "acme", "ep01", "run-1", wait=0):
        with (
            pytest.raises(ScriptBusyError, match="being voiced by run run-1"),
            script_lock(store, "acme", "ep01", "run-2", wait=0),
        ):
            pass
        with script_lock(store, "acme", "ep02", "run-2", wait=0):  # another script is free
            pass
        with script_lock(store, "acme", "ep01", "run-1", wait=0):  # the same run (a retried task) holds it
            pass


HOLDER = textwrap.dedent("""
    import sys, time
    from pipeline.settings import load_settings
    from pipeline.storage.locks import script_lock
    from pipeline.storage.store import ObjectStore

    store = ObjectStore.from_settings(load_settings().storage)
    with script_lock(store, "acme", "ep01", "doomed", wait=0, ttl=2.0):
        print("holding", flush=True)
        time.sleep(60)
""")


def test_the_lock_of_a_killed_run_expires_and_one_waiter_takes_it_over(
    store: ObjectStore, s3_env: dict[str, str]
) -> None:
    env = {**os.environ, **s3_env, "DUBFLOW_S3_BUCKET_PREFIX": store.settings.bucket_prefix}
    child = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "holding"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    inside = 0
    most = 0
    guard = threading.Lock()
    order: list[str] = []

    def waiter(run_id: str) -> None:
        nonlocal inside, most
        with script_lock(store, "acme", "ep01", run_id, wait=30, poll=0.1):
            with guard:
                inside += 1
                most = max(most, inside)
                order.append(run_id)
            time.sleep(0.5)
            with guard:
                inside -= 1

    threads = [threading.Thread(target=waiter, args=(f"w{k}",)) for k in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(order) == ["w0", "w1", "w2"] and most == 1  # all got it, one at a time
    assert time.monotonic() - started < 20  # the dead run's lock expired after its 2 s, not after the wait
