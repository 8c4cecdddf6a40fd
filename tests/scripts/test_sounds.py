"""Hearing-impaired conventions: speaker labels and sound descriptions are not spoken, our markup still is."""

from __future__ import annotations

import pytest

from pipeline.scripts.ingest import ingest_text
from pipeline.scripts.sounds import clean, is_markup_bracket, leading_label


@pytest.mark.parametrize(
    ("content", "han", "markup"),
    [
        ("hao4", False, True),  # tone-number pinyin, in any line
        ("ào", False, True),  # tone mark
        ("h", True, True),  # an initial of the split form, in a Chinese line
        ("h", False, False),
        ("hao", True, True),
        ("laughs", True, False),  # a word, not a syllable
        ("xyz4", False, True),  # shaped like pinyin: the parser says it is not one
        ("K", False, True),
        ("IY1", False, True),
        ("AA5", False, True),  # shaped like a phoneme: the parser says it is not one
        ("ALBA", False, False),
        ("MUSIC", False, False),
        ("pause:0.5", False, True),
        ("pause:soon", False, True),
        ("breath", False, True),
        ("door slams", False, False),
        ("ríen emocionadas", False, False),
    ],
)
def test_which_brackets_are_markup(content: str, han: bool, markup: bool) -> None:
    assert is_markup_bracket(content, han) is markup


@pytest.mark.parametrize(
    ("text", "speaker", "rest"),
    [
        ("[Alba] ¿Quién está ahí?", "Alba", "¿Quién está ahí?"),
        ("[DOOR SLAMS] Who is it?", None, "[DOOR SLAMS] Who is it?"),
        ("[MUSIC] la la", None, "[MUSIC] la la"),
        ("ALBA: Hi there", "ALBA", "Hi there"),
        ("- MAYA: Run!", "MAYA", "Run!"),
        ("SPORTSCASTER #1: Goal!", "SPORTSCASTER #1", "Goal!"),
        ("Maya: lower-case names need a voice map", None, "Maya: lower-case names need a voice map"),
        ("旁白：很久以前", "旁白", "很久以前"),
        ("小李: 走吧", "小李", "走吧"),
        ("他说：这是真的。", None, "他说：这是真的。"),
        ("注意：前方施工", None, "注意：前方施工"),
        ("[Alba]", None, "[Alba]"),
        ("10:30 tomorrow", None, "10:30 tomorrow"),
    ],
)
def test_speaker_labels(text: str, speaker: str | None, rest: str) -> None:
    assert leading_label(text) == (speaker, rest)


def test_a_known_speaker_is_a_label_in_any_case_and_either_colon() -> None:
    assert leading_label("Maya: hi", frozenset({"Maya"})) == ("Maya", "hi")
    assert leading_label("林晓：你好", frozenset({"林晓"})) == ("林晓", "你好")


def test_descriptions_dropped_kept_or_refused_as_the_setting_says() -> None:
    text = "[door slams] Who is it? (laughs) ♪ la la ♪"
    dropped = clean(text, "drop")
    assert dropped.text == "Who is it?" and [n[1] for n in dropped.notes] == ["sound-description"] * 3
    assert clean(text, "keep").text == "\\[door slams\\] Who is it? (laughs) ♪ la la ♪"
    refused = clean(text, "error")
    assert [(n[0], n[1]) for n in refused.notes] == [("error", "sound-description")] * 3
    assert refused.notes[0][2].startswith("column 1:")


def test_in_prose_a_bracket_that_is_not_markup_is_text_and_parentheses_are_left_alone() -> None:
    assert clean("He came (at last) [later editions: 'late'].", "drop", prose=True).text == (
        "He came (at last) \\[later editions: 'late'\\]."
    )


def test_unmatched_brackets_and_layout_tags_are_warnings_not_errors() -> None:
    stray = clean("One stray ] and one [ here", "drop")
    assert stray.text == "One stray and one here"
    assert [n[1] for n in stray.notes] == ["unmatched-bracket", "unmatched-bracket"]
    html = clean('A <span id="x">word</span> and a <b>bold</b> one', "drop")
    assert html.text == "A word and a bold one" and {n[1] for n in html.notes} == {"not-markup"}
    assert clean("<whisper>quiet</whisper>", "drop").text == "<whisper>quiet</whisper>"  # the parser refuses it


def test_a_sheet_row_with_a_label_and_directions(ingest_settings) -> None:
    sheet = "text\n旁白：(轻声) 很久以前。\n[door slams]\nMAYA: Run!\n"
    result = ingest_text(sheet, "s.csv", ingest_settings)
    assert result.ok, result.problems
    assert [(ln.speaker, ln.text) for ln in result.lines] == [("旁白", "很久以前。"), ("MAYA", "Run!")]
    assert [p.code for p in result.warnings] == ["sound-description", "sound-description"]


def test_setting_error_refuses_a_file_with_descriptions(ingest_settings) -> None:
    strict = ingest_settings.model_copy(update={"sound_descriptions": "error"})
    result = ingest_text("1\n00:00:01,000 --> 00:00:02,000\n[door slams] Hi.\n", "a.srt", strict)
    assert [(p.line, p.code) for p in result.errors] == [(2, "sound-description")]


def test_a_label_resolves_through_the_voice_map(ingest_settings) -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\n[Alba] Hola.\n"
    result = ingest_text(srt, "a.srt", ingest_settings, voice_map={"Alba": "es-voice"})
    assert [(ln.speaker, ln.voice, ln.text) for ln in result.lines] == [("Alba", "es-voice", "Hola.")]
