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
