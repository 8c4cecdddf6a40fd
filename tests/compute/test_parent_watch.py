"""Local workers do not outlive the process that started them, however it dies (the Airflow retry case)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import REPO

CLUSTER = """
import json, threading, time
from pipeline.compute.cluster import cluster_spec, start_cluster
from pipeline.settings import DaskSettings
from distributed import Client
cluster = start_cluster(cluster_spec(DaskSettings(mode="local", workers=2, memory_limit="1GiB")))
client = Client(cluster)
info = client.run(lambda: (__import__("os").getpid(),
                           any(t.name == "dubflow-parent-watch" for t in __import__("threading").enumerate())))
client.submit(time.sleep, 600)  # a worker busy, as in a task killed mid-synthesis
print(json.dumps(list(info.values())), flush=True)
time.sleep(600)
"""

# A process that starts a "worker" (here: a plain sleeper with the watch) and is then killed: the worker is
# re-parented, as a Dask worker is when Dask's own parent-death detection does not fire.
ORPHANING = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "from pipeline.compute.parent_watch import watch_parent; "
                          "import time; watch_parent(0.2); print('watching', flush=True); time.sleep(600)"])
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(proc: psutil.Process) -> bool:
    """Running and not a zombie: an orphan's new parent (PID 1 in a container) may be slow to reap it."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start(code: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **env},
                            stdout=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    assert line, f"the child did not start (exit {proc.poll()})"
    return proc, line


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_every_local_worker_runs_the_watch_and_exits_with_its_parent(start: str) -> None:
    # fork: what an Airflow task runner looks like to worker_start_method()
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "airflow-db-not-allowed:///"} if start == "fork" else {}
    parent, line = _start(CLUSTER, env)
    workers = []
    try:
        info = json.loads(line)
        assert [watching for _, watching in info] == [True, True], info
        workers = [psutil.Process(pid) for pid, _ in info]
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        _, alive = psutil.wait_procs(workers, timeout=20)
        assert not alive, f"orphaned workers still running: {[(p.pid, p.status()) for p in alive]}"
    finally:
        for proc in [*workers, psutil.Process(parent.pid)] if parent.poll() is None else workers:
            if _alive(proc):
                proc.kill()


def test_the_watch_ends_a_process_that_was_orphaned() -> None:
    parent, line = _start(ORPHANING, {})
    orphan = psutil.Process(int(line))
    try:
        assert parent.stdout and parent.stdout.readline().strip() == "watching"  # the watch knows its parent
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10  # without the watch it would sleep on for ten minutes
        while _alive(orphan) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(orphan), f"orphan {orphan.pid} still running (parent now {orphan.ppid()})"
    finally:
        if _alive(orphan):
            orphan.kill()
