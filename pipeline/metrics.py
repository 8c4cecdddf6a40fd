"""Prometheus metrics of the work itself, recorded where it happens: on the Dask workers.

Export: each Dask worker already serves Prometheus text at ``/metrics`` on its HTTP server (the worker's
``--dashboard-address``; distributed's handler writes ``prometheus_client``'s default registry, which holds these
metrics next to Dask's own ``dask_worker_*``), so scraping the workers' dashboard ports is all it takes — no extra
port, also with ``--no-dashboard``. A local cluster's workers listen on free loopback ports (see
``client.scheduler_info()["workers"][address]["services"]["dashboard"]``).

Counters count work done on a worker: a line retried on three workers counts three failed attempts, and a worker
the nanny restarts starts again from zero (Prometheus' ``rate()`` handles counter resets). Labels are bounded:
engine names come from the settings, statuses, verdicts and failure reasons from the sets below — never a line,
script or run id (those are in the logs, see ``pipeline.events``).

Real-time factor: ``rate(dubflow_synthesis_seconds_sum[5m]) / rate(dubflow_audio_seconds_total[5m])``, both over
the audio that was kept (a take that was discarded for NaN/silence is not in either).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Statuses of ``dubflow_lines_synthesized_total``: synthesized (by the planned engine), fallback (by a later engine
# of the voice's chain), resynthesis (the QA gate's new take), failed (an attempt that gave no clip), cached (a
# cache hit; counted by the process that plans the run, which is not a worker — see README).
STATUSES = frozenset({"synthesized", "fallback", "resynthesis", "failed", "cached"})
# Why a line failed: short, fixed label values (the error text goes to the log, never into a label).
REASONS = frozenset(
    {
        "engine_error",  # the engine raised (a model error, a load failure)
        "unsupported",  # no planned engine can speak the line
        "bad_audio",  # empty, NaN/Inf or silent audio with every seed tried
        "too_long",  # longer audio than synthesis.max_line_seconds
        "upload_error",  # the clip could not be written to object storage
        "worker_setup",  # the worker's engine plugin is not set up
        "qa_quarantine",  # the QA gate quarantined the line
        "post_processing",  # post-processing or checking the line raised
        "resynthesis_error",  # the QA gate's re-synthesis could not run on this worker
        "other",  # anything else (the log says what)
    }
)
VERDICTS = frozenset({"pass", "warn", "fail", "quarantined"})

LINES = Counter(
    "dubflow_lines_synthesized", "Lines synthesized on this worker, by engine and outcome", ["engine", "status"]
)
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, float("inf"))  # engine seconds
SYNTHESIS_SECONDS = Histogram(
    "dubflow_synthesis_seconds", "Engine wall time per kept clip (seconds)", ["engine"], buckets=_BUCKETS
)
AUDIO_SECONDS = Counter("dubflow_audio_seconds", "Seconds of audio synthesized on this worker", ["engine"])
QA_VERDICTS = Counter("dubflow_qa_verdicts", "Lines through the QA gate on this worker, by final verdict", ["verdict"])
LINE_FAILURES = Counter(
    "dubflow_line_failures", "Failed line attempts on this worker, by engine and reason", ["engine", "reason"]
)
IN_PROGRESS = Gauge("dubflow_worker_lines_in_progress", "Lines being synthesized or checked on this worker now")


def _engine(engine: str | None) -> str:
    return engine or "unknown"


def reason_label(reason: str | None) -> str:
    return reason if reason in REASONS else "other"


def synthesized(engine: str | None, seconds: float, audio_seconds: float, status: str = "synthesized") -> None:
    """A clip that was kept: its engine time and its length."""
    if status not in STATUSES:
        raise ValueError(f"unknown synthesis status {status!r}")
    LINES.labels(engine=_engine(engine), status=status).inc()
    SYNTHESIS_SECONDS.labels(engine=_engine(engine)).observe(max(0.0, seconds))
    AUDIO_SECONDS.labels(engine=_engine(engine)).inc(max(0.0, audio_seconds or 0.0))


def synthesis_failed(engine: str | None, reason: str | None) -> None:
    """An attempt at a line that gave no clip."""
    LINES.labels(engine=_engine(engine), status="failed").inc()
    LINE_FAILURES.labels(engine=_engine(engine), reason=reason_label(reason)).inc()


def line_failed(engine: str | None, reason: str | None) -> None:
    """A failure after synthesis (QA, post-processing): not a synthesis attempt."""
    LINE_FAILURES.labels(engine=_engine(engine), reason=reason_label(reason)).inc()


def cached(engine: str | None, count: int = 1) -> None:
    if count:
        LINES.labels(engine=_engine(engine), status="cached").inc(count)


def qa_verdict(verdict: str, quarantined: bool) -> None:
    label = "quarantined" if quarantined else verdict
    if label not in VERDICTS:
        raise ValueError(f"unknown QA verdict {verdict!r}")
    QA_VERDICTS.labels(verdict=label).inc()
