"""What a rejection asks for: the retake conf built from a published manifest."""

from __future__ import annotations

import pytest

from pipeline.review import MAX_NOTE, ReviewError, retake_conf

MANIFEST = {
    "project": "acme", "script_id": "ep01", "version": 3,
    "source": {"profile": "broadcast", "quarantined": {"ep01-0003": ["duration: 2.1 s over the slot"]},
               "review": {"ep01-0003": {"take": 2, "note": "flat", "reviewer": "ana", "from_version": 2}}},
    "lines": [{"line_id": "ep01-0001", "take": 0}, {"line_id": "ep01-0002", "take": 1}],
}  # fmt: skip


def test_each_rejected_line_asks_for_its_next_take_with_the_note_and_reviewer() -> None:
    conf = retake_conf(MANIFEST, "acme/2026-11-20/ep01.srt", {"ep01-0001": " too fast ", "ep01-0002": ""}, "ben")
    assert conf == {"project": "acme", "script_key": "acme/2026-11-20/ep01.srt", "profile": "broadcast",
                    "retake": {"ep01-0001": {"take": 1, "note": "too fast", "reviewer": "ben", "from_version": 3},
                               "ep01-0002": {"take": 2, "note": "", "reviewer": "ben", "from_version": 3}}}  # fmt: skip


def test_a_quarantined_retake_counts_from_the_take_it_already_used() -> None:
    conf = retake_conf(MANIFEST, "acme/2026-11-20/ep01.srt", {"ep01-0003": "still long"}, "ben")
    assert conf["retake"]["ep01-0003"]["take"] == 3  # take 2 was quarantined; asking for 2 again replays it


@pytest.mark.parametrize(("rejected", "script_key", "message"), [
    ({}, "acme/2026-11-20/ep01.srt", "at least one line"),
    ({"ep01-0009": ""}, "acme/2026-11-20/ep01.srt", "ep01 v3 has no line.*ep01-0009"),
    ({"ep01-0001": "x" * (MAX_NOTE + 1)}, "acme/2026-11-20/ep01.srt", "longer than"),
    ({"ep01-0001": ""}, None, "inbox key"),
])  # fmt: skip
def test_impossible_rejections_say_why(rejected: dict[str, str], script_key: str | None, message: str) -> None:
    with pytest.raises(ReviewError, match=message):
        retake_conf(MANIFEST, script_key, rejected, "ben")


def test_a_long_script_is_reviewed_a_page_at_a_time_with_its_filters() -> None:
    from pipeline.review import Filters, LineView, ScriptView

    lines = [LineView(f"L{n:04d}", "en", "Hi.", "warn" if n % 10 == 0 else "pass", published=True,
                      speaker="MAYA" if n % 2 else "THEO", engine="piper") for n in range(1000)]  # fmt: skip
    view = ScriptView("ep.srt", "success", 0, lines=list(lines)).paged(Filters(), page=3)
    assert (view.total, view.matching, view.pages, view.page) == (1000, 1000, 20, 3)
    assert [line.line_id for line in view.lines] == [f"L{n:04d}" for n in range(100, 150)]
    warned = ScriptView("ep.srt", "success", 0, lines=list(lines)).paged(Filters(verdict="warn", speaker="THEO"), 99)
    assert (warned.matching, warned.pages, warned.page) == (100, 2, 2)  # a page past the end is the last one
    assert all(line.verdict == "warn" and line.speaker == "THEO" for line in warned.lines)
    assert Filters.choices([ScriptView("x", "success", 0, lines=lines)]) == {
        "verdict": ["pass", "warn"], "speaker": ["MAYA", "THEO"], "engine": ["piper"]}  # fmt: skip


def test_the_review_form_asks_for_one_change_per_line_and_names_the_line_at_fault() -> None:
    from pipeline.review import retake_asks

    form = {"reject": ["a", "b", "c", "d", "e"], "note:a": ["slower please"], "change:b": ["style"],
            "style:b": ["whisper"], "change:c": ["speed"], "speed:c": ["0.85"], "change:d": ["voice"],
            "voice:d": ["en-joe"], "change:e": ["say"], "say:e": ["她[h][ào]干净"]}  # fmt: skip
    assert retake_asks(form) == {"a": {"note": "slower please", "change": {}}, "b": {"note": "", "change": {"style": "whisper"}},
                                 "c": {"note": "", "change": {"speed": 0.85}}, "d": {"note": "", "change": {"voice": "en-joe"}},
                                 "e": {"note": "", "change": {"say": "她[h][ào]干净"}}}  # fmt: skip
    for bad, message in (({"change:a": ["speed"], "speed:a": ["fast"]}, "a: speed 'fast' is not a number"),
                         ({"change:a": ["speed"], "speed:a": ["9"]}, "a: speed 9 is outside 0.5–2"),
                         ({"change:a": ["style"]}, "a: a style instruction was chosen but left empty"),
                         ({"change:a": ["say"], "say:a": ["[xyz"]}, "a: how it is said: column")):  # fmt: skip
        with pytest.raises(ReviewError, match=message):
            retake_asks({"reject": ["a"], **bad})
    conf = retake_conf(
        MANIFEST, "acme/2026-11-20/ep01.srt", {"ep01-0001": {"note": "x", "change": {"speed": 0.9}}}, "b"
    )
    assert conf["retake"]["ep01-0001"]["change"] == {"speed": 0.9}
