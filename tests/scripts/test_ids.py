from __future__ import annotations

import pytest

from pipeline.ids import InvalidIdError, check_id, slugify
from pipeline.scripts.ingest import ingest_text

ORIGINAL = """1
00:00:01,000 --> 00:00:02,000
MAYA: Hello.

2
00:00:02,500 --> 00:00:03,000
THEO: Yes.

3
00:00:03,500 --> 00:00:04,000
MAYA: Where were you?

4
00:00:04,500 --> 00:00:05,000
THEO: Yes.
"""

EDITED = """1
00:00:00,500 --> 00:00:00,900
NARRATOR: A new first line.

2
00:00:01,000 --> 00:00:02,200
MAYA: Hello.

3
00:00:02,500 --> 00:00:03,000
THEO: Yes.

4
00:00:03,500 --> 00:00:04,000
MAYA: Where have you been?

5
00:00:04,500 --> 00:00:05,000
THEO:   Yes.
"""


def test_reingesting_an_edited_script_keeps_ids_of_unchanged_lines(ingest_settings) -> None:
    before = {ln.text: ln.line_id for ln in ingest_text(ORIGINAL, "ep.srt", ingest_settings).lines}
    after = ingest_text(EDITED, "ep.srt", ingest_settings).lines
    ids_after = [ln.line_id for ln in after]
    assert len(set(ids_after)) == len(ids_after)
    assert ids_after[1] == before["Hello."]  # retimed, moved down: same id
    original_yes = [ln.line_id for ln in ingest_text(ORIGINAL, "ep.srt", ingest_settings).lines if ln.text == "Yes."]
    assert ids_after[2] == original_yes[0] and ids_after[4] == original_yes[1] == f"{original_yes[0]}-2"
    assert ids_after[3] not in before.values()  # edited line: new id
    assert after[1].text_hash == ingest_text(ORIGINAL, "ep.srt", ingest_settings).lines[0].text_hash


def test_equivalent_markup_spellings_share_id_and_hash(ingest_settings) -> None:
    a = ingest_text("text\n她[h][ào]干净\n", "a.csv", ingest_settings).lines[0]
    b = ingest_text("text\n她[hao4]干净\n", "a.csv", ingest_settings).lines[0]
    assert (a.line_id, a.text_hash) == (b.line_id, b.text_hash)


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", "a..b", "-lead", "trail.", "x" * 65, "tab\there", "ctl\x00", "空格"]
)
def test_unsafe_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidIdError):
        check_id(bad)


@pytest.mark.parametrize("good", ["a", "ep01", "zh-001", "A_b.c-9", "x" * 64])
def test_safe_ids_pass(good: str) -> None:
    assert check_id(good) == good


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Episode 01 (FINAL)", "episode-01-final"),
        ("../../etc/passwd", "etc-passwd"),
        ("第二章", "di-er-zhang"),
        ("東京物語", "dong-jing-wu-yu"),
        ("겨울왕국", "gyeo-ul-wang-gug"),
        ("...", "script"),
        ("a..b", "a.b"),
    ],
)
def test_slugify_is_always_a_safe_id(name: str, slug: str) -> None:
    assert slugify(name) == slug
    check_id(slugify(name))
