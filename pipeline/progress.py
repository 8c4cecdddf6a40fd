"""A script's progress while it is voiced: one small JSON object in staging that the review page polls and the
task log summarizes, so a content team sees how far a run is without reading logs.

It is written from what the workers report to the chain (each line synthesized, cached, failed or checked, as its
Dask future completes), at most once a second and at once on a stage change: under 1 % of a run's time. A retried
task writes the same object (the key is the run's and the script's), keeping when the first attempt started and
counting attempts; its cached lines count as done again within a second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.chain import Watcher
from pipeline.compute.fanout import LineResult
from pipeline.qa.results import LineQa
from pipeline.scripts.model import IngestResult
from pipeline.storage import keys
from pipeline.storage.store import ObjectStore

log = logging.getLogger(__name__)


@dataclass
class Progress:
    run_id: str
    script: str  # the inbox file name (the script id is known once it is read)
    script_id: str = ""
    stage: str = "ingest"
    total: int = 0
    synthesized: int = 0
    cached: int = 0
    failed: int = 0
    checked: int = 0
    quarantined: int = 0
    started: float = field(default_factory=time.time)
    stage_started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    attempt: int = 1
    status: str = "running"  # running | done | failed
    result: str = ""  # when done: the chain's outcome (published, refused, nothing passed QA, …)

    @property
    def done(self) -> int:
        """Lines through the current stage: spoken (or failed) while synthesizing, checked (or failed) after."""
        if self.stage == "ingest":
            return 0
        if self.stage == "synthesize":
            return self.synthesized + self.cached + self.failed
        return self.checked + self.failed if self.stage == "finish" else self.total

    @property
    def eta_s(self) -> float | None:
        """The current stage's remaining lines at its rate so far; None before its first line."""
        done, elapsed = self.done, self.updated - self.stage_started
        if self.stage not in ("synthesize", "finish") or not done or done >= self.total:
            return None
        return (self.total - done) * elapsed / done

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "done": self.done, "eta_s": self.eta_s, "elapsed_s": self.updated - self.started}


class ProgressRecorder(Watcher):
    """Keeps ``progress`` in staging while the chain runs (a thread flushes changes every ``interval`` seconds) and
    logs one line every ``log_every`` seconds."""

    def __init__(self, store: ObjectStore, run_id: str, script: str, interval: float = 1.0, log_every: float = 10.0):
        self.store, self.key = store, keys.progress_key(run_id, script)
        self.progress = Progress(run_id, script)
        if (before := read_progress(store, self.key)) is not None:  # a retried task: the same run goes on
            self.progress.started = before.get("started", self.progress.started)
            self.progress.attempt = before.get("attempt", 0) + 1
        self.interval, self.log_every, self._logged = interval, log_every, 0.0
        self._dirty, self._lock, self._stop = True, threading.Lock(), threading.Event()
        self.writes, self.write_seconds = 0, 0.0  # what progress cost this run (bench/pipeline.py prints it)
        self._thread = threading.Thread(target=self._flusher, name="dubflow-progress", daemon=True)

    def __enter__(self) -> ProgressRecorder:
        self._write()
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        ok = exc_type is None
        self._change(stage="done" if ok else self.progress.stage, status="done" if ok else "failed")
        self._write()

    def ingested(self, ingested: IngestResult) -> None:
        self._change(script_id=ingested.script_id, total=len(ingested.lines))

    def stage(self, name: str) -> None:
        self._change(stage=name, stage_started=time.time())
        self._write()  # a stage change is shown at once

    def synthesized(self, result: LineResult) -> None:
        self._change(**{result.status: getattr(self.progress, result.status) + 1})

    def checked(self, line_qa: LineQa) -> None:
        self._change(checked=self.progress.checked + 1, quarantined=self.progress.quarantined + line_qa.quarantined)

    def _change(self, **values: Any) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self.progress, name, value)
            self.progress.updated = time.time()
            self._dirty = True

    def _flusher(self) -> None:
        while not self._stop.wait(self.interval):
            if self._dirty:
                self._write()

    def _write(self) -> None:
        with self._lock:
            state, self._dirty = self.progress.to_dict(), False
        started = time.perf_counter()
        try:
            self.store.put_bytes("staging", self.key, json.dumps(state).encode(), content_type="application/json")
        except Exception as exc:  # progress is a view: a failed write must never fail the run
            log.warning("progress of %s not written: %s", self.progress.script, exc)
        self.writes, self.write_seconds = self.writes + 1, self.write_seconds + time.perf_counter() - started
        if state["updated"] - self._logged >= self.log_every or state["status"] != "running":
            self._logged = state["updated"]
            log.info("progress %s", describe(state))


def describe(state: dict[str, Any]) -> str:
    """One line for a log or a terminal: stage, lines done of total, failures, elapsed and ETA."""
    eta = f", ETA {state['eta_s']:.0f} s" if state.get("eta_s") is not None else ""
    lines = f"{state['done']}/{state['total']} lines, {state['failed']} failed"
    return f"{state['script']}: {state['stage']} {lines}, {state['elapsed_s']:.0f} s elapsed{eta}"


def read_progress(store: ObjectStore, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(store.get_bytes("staging", key)) if store.exists("staging", key) else None
    except (ValueError, OSError):
        return None


def run_progress(store: ObjectStore, run_id: str) -> list[dict[str, Any]]:
    """Every script's progress of one run, by script name."""
    found = [read_progress(store, obj.key) for obj in store.list("staging", keys.progress_prefix(run_id))]
    return sorted((p for p in found if p), key=lambda p: p["script"])
