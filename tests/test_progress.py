"""The progress object a voicing task keeps in staging, on the real S3 server: written within a second of a change,
at a bounded rate, and carried over by a retried task."""

from __future__ import annotations

import logging
import time

import pytest

from pipeline.compute.fanout import LineResult
from pipeline.progress import ProgressRecorder, describe, read_progress, run_progress
from pipeline.qa.results import LineQa
from pipeline.scripts.ingest import ingest_text
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.storage.store import ObjectStore

SRT = "1\n00:00:01,000 --> 00:00:02,000\nOne.\n\n2\n00:00:03,000 --> 00:00:04,000\nTwo.\n\n3\n00:00:05,000 --> 00:00:06,000\nThree.\n"


def _wait_for(store: ObjectStore, key: str, ok, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_progress(store, key)
        if state and ok(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"progress never became what was expected: {read_progress(store, key)}")


def test_progress_follows_the_chain_and_survives_a_retry(store: ObjectStore, caplog: pytest.LogCaptureFixture) -> None:
    ingested = ingest_text(SRT, "ep.srt", Settings().ingest)
    lines = ingested.lines
    run_id = f"manual__{time.time_ns()}"
    key = keys.progress_key(run_id, "ep.srt")
    caplog.set_level(logging.INFO, logger="pipeline.progress")
    with ProgressRecorder(store, run_id, "ep.srt", interval=0.2, log_every=60) as recorder:
        assert read_progress(store, key)["stage"] == "ingest"  # written when the task starts
        recorder.ingested(ingested)
        recorder.stage("synthesize")
        assert read_progress(store, key)["stage"] == "synthesize"  # a stage change is written at once
        recorder.synthesized(LineResult(lines[0], "synthesized"))
        recorder.synthesized(LineResult(lines[1], "cached"))
        state = _wait_for(store, key, lambda s: s["done"] == 2)  # the flusher wrote it within a second
        assert (state["total"], state["synthesized"], state["cached"], state["failed"]) == (3, 1, 1, 0)
        assert state["eta_s"] is not None and state["eta_s"] >= 0
        recorder.synthesized(LineResult(lines[2], "failed"))
        recorder.stage("finish")
        recorder.checked(LineQa(lines[0].line_id, "en", "One.", "pass", []))
        _wait_for(store, key, lambda s: s["stage"] == "finish" and s["done"] == 2)  # 1 checked + 1 failed
        recorder.progress.result = "published"
    done = read_progress(store, key)
    assert (done["status"], done["stage"], done["result"], done["attempt"]) == ("done", "done", "published", 1)
    # The log got a line at the start and one at the end, not one per line (log_every bounds it).
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress ")]
    assert 2 <= len(logged) <= 3, logged

    with pytest.raises(RuntimeError), ProgressRecorder(store, run_id, "ep.srt") as retry:  # the task, retried
        retry.ingested(ingested)
        raise RuntimeError("worker lost")
    again = read_progress(store, key)
    assert again["attempt"] == 2 and again["started"] == done["started"] and again["status"] == "failed"
    assert [p["script"] for p in run_progress(store, run_id)] == ["ep.srt"]
    assert "ep.srt: ingest 0/3 lines, 0 failed" in describe(again)


def test_a_store_that_fails_does_not_fail_the_run(store: ObjectStore, caplog: pytest.LogCaptureFixture) -> None:
    """Progress is a view: a write that fails is logged, never raised into the voicing task."""
    recorder = ProgressRecorder(store, "r", "ep.srt")
    recorder.key = "progress/" + "x" * 2000  # a key no S3 server accepts
    with recorder:
        recorder.stage("synthesize")
    assert any("progress of ep.srt not written" in r.getMessage() for r in caplog.records)
