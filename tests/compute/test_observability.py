"""Observability on a real two-worker LocalCluster: the workers' own /metrics endpoints add up to the run's report,
and one line can be followed by its ids from the client's log to the worker that spoke it."""

from __future__ import annotations

import logging
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from pipeline.audio.profiles import resolve_profile
from pipeline.compute.fanout import Stage, synthesize
from pipeline.compute.finish import finish
from pipeline.scripts.model import Line
from pipeline.settings import Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from tests.compute import log_capture
from tests.conftest import REPO

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
ROWS = [
    ("en-1", "Good evening, harbour.", ""),
    ("en-2", "The tide is turning.", ""),
    ("zh-1", "你终于来了！", ""),
    ("tone", "a test tone", "faulty"),
    ("boom", "BOOM goes the line", "faulty"),
    ("hush", "HUSH now", "faulty"),
]
LABELS = {"engine", "status", "verdict", "reason", "le"}  # bounded: never a line, script or run id


def scrape(client) -> dict[str, Samples]:
    """Every worker's dubflow_* samples, read over HTTP from the worker's own server (what Prometheus scrapes)."""
    out: dict[str, Samples] = {}
    for address, info in client.scheduler_info()["workers"].items():
        url = f"http://{info['host']}:{info['services']['dashboard']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        out[address] = {(s.name, tuple(sorted(s.labels.items()))): s.value
                        for family in text_string_to_metric_families(text) for s in family.samples
                        if s.name.startswith("dubflow_") and not s.name.endswith("_created")}  # fmt: skip
    return out


def delta(before: dict[str, Samples], after: dict[str, Samples]) -> Samples:
    """What the run added, summed over the workers."""
    total: Samples = {}
    for address, samples in after.items():
        for key, value in samples.items():
            change = value - before.get(address, {}).get(key, 0.0)
            if change:
                total[key] = total.get(key, 0.0) + change
    return total


def by(samples: Samples, name: str, label: str, **where: str) -> dict[str, float]:
    """``name`` samples matching ``where``, summed by ``label``."""
    out: dict[str, float] = {}
    for (sample, labels), value in samples.items():
        labels = dict(labels)
        if sample == name and all(labels.get(k) == v for k, v in where.items()):
            out[labels[label]] = out.get(labels[label], 0.0) + value
    return out


def test_worker_metrics_add_up_to_the_run_report(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    lines = sheet(ROWS)
    start = scrape(dask_client)
    report = synthesize(lines, catalog, "t", settings, store, client=dask_client)
    synthesized = scrape(dask_client)
    made = delta(start, synthesized)
    ok = [r for r in report.results if r.status == "synthesized"]
    failed = [r for r in report.results if r.status == "failed"]
    assert {r.line.line_id for r in failed} == {"boom", "hush"}, report.summary()

    engines = Counter(r.clip.engine for r in ok)
    assert set(engines) == {"piper", "mandarin", "faulty"}
    assert by(made, "dubflow_lines_synthesized_total", "engine", status="synthesized") == engines
    assert by(made, "dubflow_synthesis_seconds_count", "engine") == engines
    for engine in engines:
        mine = [r.clip for r in ok if r.clip.engine == engine]
        assert by(made, "dubflow_audio_seconds_total", "engine")[engine] == pytest.approx(
            sum(c.duration for c in mine), abs=1e-6)  # fmt: skip
        assert by(made, "dubflow_synthesis_seconds_sum", "engine")[engine] == pytest.approx(
            sum(c.synth_seconds for c in mine), rel=1e-9)  # fmt: skip
    # Every attempt that gave no clip is a failed attempt on some worker (a line is retried on another one).
    attempts = sum(r.attempts for r in failed) + sum(r.attempts - 1 for r in ok)
    assert by(made, "dubflow_lines_synthesized_total", "status", status="failed") == {"failed": attempts}
    reasons = Counter()
    for r in failed:
        reasons[r.clip.reason] += r.attempts
    assert reasons == {"engine_error": settings.synthesis.retries + 1, "bad_audio": settings.synthesis.retries + 1}
    assert by(made, "dubflow_line_failures_total", "reason", engine="faulty") == reasons
    for samples in synthesized.values():  # nothing left "in progress" once the run is over
        assert samples[("dubflow_worker_lines_in_progress", ())] == 0

    profile = resolve_profile(REPO / "configs/profiles.yaml", "broadcast")
    checked = finish(report, Stage(settings, store, dask_client), profile)
    gated = delta(synthesized, scrape(dask_client))
    verdicts = Counter("quarantined" if q.quarantined else q.verdict for q in checked)
    assert verdicts["quarantined"] >= 1 and sum(verdicts.values()) == len(ok)  # the tone cannot pass ASR
    assert by(gated, "dubflow_qa_verdicts_total", "verdict") == verdicts
    assert by(gated, "dubflow_line_failures_total", "engine", reason="qa_quarantine") == Counter(
        q.engine for q in checked if q.quarantined)  # fmt: skip
    retakes = Counter()
    for q in checked:
        retakes[q.engine] += q.attempts - 1
    assert +retakes and by(gated, "dubflow_lines_synthesized_total", "engine", status="resynthesis") == +retakes
    assert by(gated, "dubflow_lines_synthesized_total", "status", status="synthesized") == {}  # only retakes
    labels = {name for samples in (made, gated) for _, pairs in samples for name, _ in pairs}
    assert labels and labels <= LABELS, labels

    # A re-run of the spoken lines is all cache hits: no cluster, so the planning process counts them.
    def cached(engine: str) -> float:
        value = REGISTRY.get_sample_value("dubflow_lines_synthesized_total", {"engine": engine, "status": "cached"})
        return value or 0.0

    before = {engine: cached(engine) for engine in engines}
    again = synthesize([r.line for r in ok], catalog, "t", settings, store, client=None)
    assert again.count("cached") == len(ok) and again.workers == 0
    assert {engine: cached(engine) - before[engine] for engine in engines} == engines


def test_one_line_is_followed_by_its_ids_from_the_client_log_to_the_worker_log(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    lines = sheet([("p-1", "Good evening, harbour.", ""), ("boom", "BOOM goes the line", "faulty")], "ep-obs")
    run_id = f"manual__obs-{uuid.uuid4().hex[:8]}"
    dask_client.run(log_capture.install)
    caplog.set_level(logging.INFO, logger="pipeline")
    try:
        report = synthesize(lines, catalog, "t", settings, store, client=dask_client, run_id=run_id)
        profile = resolve_profile(REPO / "configs/profiles.yaml", "broadcast")
        checked = finish(report, Stage(settings, store, dask_client), profile)
        on_workers = dask_client.run(log_capture.records)
        dask_logs = dask_client.get_worker_logs()
    finally:
        dask_client.run(log_capture.remove)
    assert report.run_id == run_id
    ids = {"run_id": run_id, "project": "t", "script_id": "ep-obs"}

    def mine(records, line_id: str, event: str) -> list:
        return [r for r in records if r.get("dubflow_event") == event and r.get("line_id") == line_id
                and r.get("run_id") == run_id]  # fmt: skip

    spoken = next(r for r in report.results if r.line.line_id == "p-1")
    assert spoken.status == "synthesized"
    clip = spoken.clip
    # The worker that spoke the line logged it, with every id and what it did.
    worker_records = {address: mine(records, "p-1", "line synthesized") for address, records in on_workers.items()}
    assert [address for address, found in worker_records.items() if found] == [clip.worker]
    (event,) = worker_records[clip.worker]
    assert {k: event[k] for k in ids} == ids
    assert (event["engine"], event["worker"], event["seed"], event["take"]) == ("piper", clip.worker,
                                                                               clip.seed_used, 0)  # fmt: skip
    assert event["audio_seconds"] == clip.duration and event["seconds"] == clip.synth_seconds
    for text in (f"run_id={run_id}", "line_id=p-1", "script_id=ep-obs", f"worker={clip.worker}"):
        assert text in event["message"], event["message"]  # greppable in any plain-text log
    # The client's log names the same line, run and worker: grep the id there, then on that worker.
    client_records = [vars(r) | {"message": r.getMessage()} for r in caplog.records]
    (seen,) = mine(client_records, "p-1", "line synthesized")
    assert {k: seen[k] for k in ids} == ids and seen["worker"] == clip.worker and seen["name"].startswith("pipeline.")
    # Dask's own worker log (client.get_worker_logs(), the dashboard) has the event too.
    assert any("line synthesized" in message and "line_id=p-1" in message and run_id in message
               for _, message in dask_logs[clip.worker])  # fmt: skip

    # The failing line: one event per attempt on whichever worker tried, each with its reason.
    boom = next(r for r in report.results if r.line.line_id == "boom")
    failures = [r for records in on_workers.values() for r in mine(records, "boom", "line failed")]
    assert len(failures) == boom.attempts == settings.synthesis.retries + 1
    assert {(r["reason"], r["engine"], r["script_id"]) for r in failures} == {("engine_error", "faulty", "ep-obs")}
    assert all("cannot say" in r["error"] and r["levelno"] == logging.WARNING for r in failures)
    assert {r["worker"] for r in failures} == {address for address, records in on_workers.items()
                                               if mine(records, "boom", "line failed")}  # fmt: skip
    (final,) = mine(client_records, "boom", "line failed")
    assert final["reason"] == "engine_error" and final["attempts"] == boom.attempts
    assert len(mine(client_records, "boom", "line retry")) == settings.synthesis.retries

    # QA of the spoken line, on a worker and in the client's log, with the same ids and verdict.
    (qa,) = checked
    checks = [r for records in on_workers.values() for r in mine(records, "p-1", "line checked")]
    assert len(checks) == 1 and {k: checks[0][k] for k in ids} == ids and checks[0]["verdict"] == qa.verdict
    (client_check,) = mine(client_records, "p-1", "line checked")
    assert client_check["verdict"] == qa.verdict and client_check["cached"] is False
