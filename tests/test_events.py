"""Log events and metric helpers without a cluster: what a grep or a JSON log handler gets."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from pipeline import metrics
from pipeline.events import RunTag, emit, fields_of, line_event, logfmt, new_run_id
from pipeline.scripts.model import Line


def _line() -> Line:
    return Line(script_id="ep01", line_id="ep01-0007", index=7, source_line=9, text="Hi.", spoken_text="Hi.",
                text_hash="x", lang="en")  # fmt: skip


def test_a_line_event_carries_the_ids_in_the_message_and_as_attributes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline")
    tag = RunTag("scheduled__2026-11-24T00:00:00+00:00", "acme")
    line_event(logging.getLogger("pipeline.test"), "line failed", tag, _line(), logging.WARNING, engine="piper",
               error='engine said "no" = bad', seconds=1.23456, module="clash", skipped=None)  # fmt: skip
    (record,) = caplog.records
    # What a reader scans for first (script, line, event), the details, then the long ids (still key=value).
    assert record.getMessage() == ('ep01 ep01-0007 line failed engine=piper error="engine said \\"no\\" = bad" '
                                   'seconds=1.235 module=clash run_id=scheduled__2026-11-24T00:00:00+00:00 '
                                   'project=acme script_id=ep01 line_id=ep01-0007')  # fmt: skip
    assert (record.run_id, record.project, record.script_id, record.line_id) == (tag.run_id, "acme", "ep01",
                                                                                 "ep01-0007")  # fmt: skip
    assert record.dubflow_event == "line failed" and record.levelno == logging.WARNING
    # A field named like a LogRecord attribute does not clobber it (or raise): it gets a prefix.
    assert record.module == "test_events" and record.dubflow_module == "clash"
    assert not hasattr(record, "skipped")


def test_a_verdict_leads_too_and_a_script_event_has_no_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline")
    tag = RunTag("manual__2026-12-01T10:00:00.123456+00:00", "acme")
    line_event(logging.getLogger("pipeline.test"), "line checked", tag, _line(), verdict="warn", engine="kokoro")
    emit(logging.getLogger("pipeline.test"), "script published", fields_of(tag, "ep01", version=2))
    checked, published = (r.getMessage() for r in caplog.records)
    assert checked.startswith("ep01 ep01-0007 line checked warn engine=kokoro run_id=manual__"), checked
    assert published.startswith("ep01 script published version=2 run_id="), published
    assert caplog.records[0].verdict == "warn"  # the attribute stays for JSON handlers


def test_logfmt_quotes_what_a_grep_would_split() -> None:
    assert logfmt({"a": "", "b": "x y", "c": ["p", "q"], "d": 2}) == 'a="" b="x y" c=p,q d=2'
    assert new_run_id().startswith("local-") and new_run_id() != new_run_id()


def test_metric_labels_stay_bounded() -> None:
    assert metrics.reason_label("disk on fire at line 7") == "other"
    assert metrics.reason_label("bad_audio") == "bad_audio"
    with pytest.raises(ValueError):
        metrics.synthesized("piper", 1.0, 2.0, status="line-7")
    with pytest.raises(ValueError):
        metrics.qa_verdict("maybe", quarantined=False)
    value = REGISTRY.get_sample_value("dubflow_line_failures_total", {"engine": "unit", "reason": "other"}) or 0.0
    metrics.line_failed("unit", "something free-form")
    assert REGISTRY.get_sample_value("dubflow_line_failures_total", {"engine": "unit", "reason": "other"}) == value + 1
