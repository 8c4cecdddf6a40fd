"""Voicing inbox scripts by hand (pipeline.hand_trigger): what is offered, and what each pick asks for."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.hand_trigger import TriggerError, explain_refusal, offered_scripts, parse_recast, run_conf, run_id
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore


def test_the_inbox_offers_the_dags_kind_newest_first(store: ObjectStore, tmp_path) -> None:
    for name, day in (("old.srt", date(2026, 11, 20)), ("ep.srt", date(2026, 11, 29)), ("book.md", date(2026, 11, 29)),
                      ("new.csv", date(2026, 11, 30))):  # fmt: skip
        (tmp_path / name).write_text("text\nHello.\n")
        put_script(store, tmp_path / name, "acme", day)
    offered = offered_scripts(store, "acme", {"dubbing"}, days=7, today=date(2026, 11, 30))
    assert [(o.item.name, o.kind) for o in offered] == [("new.csv", "dubbing"), ("ep.srt", "dubbing")]  # not old.srt
    assert [o.key for o in offered_scripts(store, "acme", {"narration"}, 7, date(2026, 11, 30))][-1].endswith("book.md")
    with pytest.raises(TriggerError, match="project: "):
        offered_scripts(store, "../etc", {"dubbing"})


def test_a_recast_box_is_speaker_equals_voice_and_its_errors_name_the_line() -> None:
    assert parse_recast("MAYA = en-joe\n\n# the narrator\n陈默=zh-baker") == {"MAYA": "en-joe", "陈默": "zh-baker"}
    for text, message in (("MAYA en-joe", "line 1: 'MAYA en-joe' is not 'SPEAKER = voice-id'"),
                          ("A = x\nA = y", "line 2: 'A' is recast twice"), ("A = ../x", "line 1: '../x' is not")):  # fmt: skip
        with pytest.raises(TriggerError, match=message):
            parse_recast(text)


def test_each_pick_is_one_run_named_by_its_script_and_a_double_submit_is_the_same_run() -> None:
    conf = run_conf("acme", "acme/2026-11-30/Ep 1.srt", {"profile": "broadcast", "force": True, "engine": None,
                                                        "voices": {}})  # fmt: skip
    assert conf == {"project": "acme", "script_key": "acme/2026-11-30/Ep 1.srt", "profile": "broadcast", "force": True}
    now = datetime(2026, 12, 1, 10, 30, 12, tzinfo=UTC)
    assert run_id(conf, now) == run_id(conf, now.replace(second=40)) != run_id({**conf, "force": False}, now)
    assert run_id(conf, now).startswith("manual__2026-12-01T10:30__Ep-1.srt__")


def test_airflows_refusal_leads_with_the_field() -> None:
    detail = "Invalid input for param script_key: 'x' does not match '^demo/...$'\n\nFailed validating..."
    assert explain_refusal(400, detail).startswith("script_key: 'x' does not match")
    assert explain_refusal(409, "exists") == "Airflow refused the run (HTTP 409): exists"


def test_a_submission_still_queued_is_found_instead_of_queued_again() -> None:
    from pipeline.hand_trigger import pending_twin

    conf = run_conf("acme", "acme/2026-11-30/ep.srt", {"profile": "broadcast"})
    earlier = run_id(conf, datetime(2026, 12, 1, 10, 29, 59, tzinfo=UTC))  # a minute boundary in between
    runs = [{"dag_run_id": earlier, "conf": conf}, {"dag_run_id": "manual__x__other", "conf": {"project": "acme"}}]
    assert pending_twin(conf, runs) == earlier
    assert pending_twin({**conf, "force": True}, runs) is None
