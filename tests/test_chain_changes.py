"""How a reviewer's changes become the lines the chain voices (``pipeline.chain``), without a cluster: they combine,
a speed multiplies the line's own style (or its voice's default), and a carried change that no longer applies is
dropped from the line and from what the manifest records."""

from __future__ import annotations

import logging

import pytest

from pipeline.chain import apply_changes, check_changes, merge_changes
from pipeline.orchestrate import InputError
from pipeline.scripts.model import Line
from pipeline.text.style import parse_style
from pipeline.voices.catalog import load_catalog
from tests.conftest import REPO

CATALOG = load_catalog(REPO / "configs" / "voices.yaml")


def _line(style: str | None = None, text: str = "Read the SQL aloud.", voice: str = "en-joe") -> Line:
    return Line(script_id="ep", line_id="ep-1", index=0, source_line=2, text=text, spoken_text=text, text_hash="x",
                lang="en", voice=voice, style=style, lexicon=("SQL → sequel",))  # fmt: skip


def test_changes_combine_and_a_speed_multiplies_the_lines_style() -> None:
    review = {"ep-1": {"take": 2, "change": {"voice": "en-espeak", "style": "slowly, warm", "speed": 0.8}}}
    (line,) = apply_changes([_line()], review, CATALOG, spell_out=True)
    assert line.voice == "en-espeak" and parse_style(line.style).speed == pytest.approx(0.85 * 0.8, abs=0.005)
    assert "warm" in line.style and line.style.count("speed=") == 1
    # A style that names its own speed: the reviewer's factor multiplies it instead of being ignored.
    (fast,) = apply_changes([_line("speed 1.2")], {"ep-1": {"change": {"speed": 0.5}}}, CATALOG, True)
    assert parse_style(fast.style).speed == pytest.approx(0.6)


def test_words_to_say_replace_what_is_synthesized_not_the_script_and_skip_the_lexicon() -> None:
    review = {"ep-1": {"change": {"say": "Read the [S][IY1][K][W][AH0][L] aloud.", "for_text": "Read the SQL aloud."}}}
    (line,) = apply_changes([_line()], review, CATALOG, True)
    assert line.text == "Read the SQL aloud." and "SQL" not in line.spoken_text and line.lexicon == ()


def test_a_carried_change_that_no_longer_applies_is_dropped_and_not_recorded(caplog) -> None:
    caplog.set_level(logging.WARNING)
    review = {"ep-1": {"take": 1, "change": {"voice": "gone-voice", "say": "Hi.", "for_text": "the old words"}}}
    (line,) = apply_changes([_line(text="The corrected words.")], review, CATALOG, True)
    assert line.voice == "en-joe" and line.text == "The corrected words."
    assert "change" not in review["ep-1"], review  # the manifest records what this version was made with
    assert "no longer applies" in caplog.text and "text changed" in caplog.text


def test_a_new_take_keeps_the_earlier_change_and_a_new_voice_is_checked_before_anything_runs() -> None:
    asked = {"ep-1": {"take": 2, "change": {"style": "whisper"}}}
    merge_changes({"ep-1": {"take": 1, "change": {"voice": "en-espeak"}}}, asked)
    assert asked["ep-1"]["change"] == {"voice": "en-espeak", "style": "whisper"}
    with pytest.raises(InputError, match="voice 'nobody' is not in"):
        check_changes({"ep-1": {"change": {"voice": "nobody"}}}, [_line()], CATALOG)
    with pytest.raises(InputError, match="does not speak en"):
        check_changes({"ep-1": {"change": {"voice": "zh-baker"}}}, [_line()], CATALOG)
