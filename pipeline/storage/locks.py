"""One run at a time voices a script: a lock object in the staging bucket, taken with a create-only PUT.

Two runs of the same script at once (two triggers, a backfill over a scheduled day, two terminals) would each
synthesize every line and race to publish. Publishing is safe without this (see ``publish``), but the work is
wasted and the second run's QA verdicts could differ; so the second run waits for the first and then finds
everything cached and published. The holder refreshes the lock while it works; a lock whose holder died stops
being refreshed, expires, and is taken over by exactly one waiter (``If-Match`` on the stale lock's ETag).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from pipeline.storage import keys
from pipeline.storage.errors import StorageError
from pipeline.storage.store import ObjectStore

log = logging.getLogger(__name__)

LOCK_SCHEMA = "dubflow.lock/1"


class ScriptBusyError(StorageError):
    """Another run holds the script's lock and did not release it within the wait."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    since: str
    expires: float  # epoch seconds

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, since {self.since})"


def _body(run_id: str, since: str, ttl: float) -> bytes:
    holder = Holder(run_id, socket.gethostname(), os.getpid(), since, time.time() + ttl)
    return json.dumps({"schema": LOCK_SCHEMA, **asdict(holder)}).encode()


def _holder(store: ObjectStore, key: str) -> tuple[Holder, str] | None:
    """The current lock and its ETag; None when there is none (or it vanished while being read)."""
    info = store.stat("staging", key)
    if info is None:
        return None
    try:
        data = json.loads(store.get_bytes("staging", key))
        run_id, host, pid, since, expires = (data[name] for name in ("run_id", "host", "pid", "since", "expires"))
        holder = Holder(str(run_id), str(host), int(pid), str(since), float(expires))
    except StorageError:
        return None
    except (ValueError, KeyError, TypeError):  # not ours, or torn: treat as expired so it can be replaced
        holder = Holder("unknown", "?", 0, "?", 0.0)
    return holder, info.etag


@contextmanager
def script_lock(
    store: ObjectStore,
    project: str,
    script_id: str,
    run_id: str,
    *,
    wait: float,
    ttl: float = 600.0,
    poll: float = 2.0,
    on_wait: Callable[[Holder], None] | None = None,
) -> Iterator[None]:
    """Hold the script's lock for the block; wait up to ``wait`` seconds for another run's (0: refuse at once)."""
    key, name = keys.lock_key(project, script_id), f"{project}/{script_id}"
    since = datetime.now(UTC).isoformat(timespec="seconds")
    deadline = time.monotonic() + wait
    told: str | None = None
    while not store.put_json_if("staging", key, _body(run_id, since, ttl)):
        current = _holder(store, key)
        if current is None:
            continue  # released between our PUT and our read: try again at once
        holder, etag = current
        if holder.run_id == run_id:
            break  # our own run, retried (an Airflow retry of the task that took it)
        if holder.expires < time.time():
            if store.put_json_if("staging", key, _body(run_id, since, ttl), etag=etag):
                log.warning("took over the lock of %s from %s, which stopped refreshing it", name, holder.describe())
                break
            continue  # another waiter took it over first
        if time.monotonic() >= deadline:
            waited = f"waited {wait:.0f} s for it (synthesis.script_lock_wait)"
            raise ScriptBusyError(f"{name} is being voiced by {holder.describe()}; this run {waited}")
        if on_wait is not None and told != holder.run_id:
            on_wait(holder)
            told = holder.run_id
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    stop = threading.Event()

    def refresh() -> None:
        """Push the expiry forward while the holder works; a lock lost to a takeover is logged, never stolen back."""
        while not stop.wait(ttl / 3):
            try:
                current = _holder(store, key)
                if current is None or current[0].run_id != run_id:
                    log.error("lost the lock %s: another run took it over", key)
                    return
                store.put_json_if("staging", key, _body(run_id, since, ttl), etag=current[1])
            except StorageError as exc:  # the store is down: the next round tries again
                log.warning("could not refresh the lock %s: %s", key, exc)

    refresher = threading.Thread(target=refresh, daemon=True, name=f"lock-{script_id}")
    refresher.start()
    try:
        yield
    finally:
        stop.set()
        refresher.join(timeout=5)
        current = _holder(store, key)
        if current is not None and current[0].run_id == run_id:
            store.delete_staging([key])
