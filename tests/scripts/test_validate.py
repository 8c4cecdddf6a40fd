from __future__ import annotations

import pytest

from pipeline.scripts.ingest import ingest_bytes, ingest_file, ingest_text


def _codes(result) -> list[tuple[str, int | None, str]]:
    return [(p.severity, p.line, p.code) for p in result.problems]


def test_missing_text(ingest_settings) -> None:
    assert ("error", 3, "missing-text") in _codes(ingest_text("speaker,text\nA,Hi\nB,\n", "s.csv", ingest_settings))


def test_end_not_after_start(ingest_settings) -> None:
    result = ingest_text("text,start,end\nA,2,2\n", "s.csv", ingest_settings)
    assert _codes(result) == [("error", 2, "end-before-start")]


def test_overlap_and_out_of_order_severity_is_configurable(ingest_settings) -> None:
    sheet = "text,start,end\nA,1,3\nB,2,4\nC,0.5,0.8\n"
    assert _codes(ingest_text(sheet, "s.csv", ingest_settings)) == [
        ("warning", 3, "overlap"),
        ("warning", 4, "out-of-order"),
    ]
    strict = ingest_settings.model_copy(update={"overlap": "error", "out_of_order": "error"})
    assert _codes(ingest_text(sheet, "s.csv", strict)) == [("error", 3, "overlap"), ("error", 4, "out-of-order")]


def test_unknown_speaker_against_a_voice_map(ingest_settings) -> None:
    sheet = "speaker,text\nMaya,Hi\nZed,Who?\n,Narration\n"
    result = ingest_text(sheet, "s.csv", ingest_settings, voice_map={"Maya": "en-f"})
    assert _codes(result) == [("error", 3, "unknown-speaker"), ("error", 4, "no-speaker")]
    assert "voice map has: Maya" in result.errors[0].message
    with_default = ingest_text(sheet, "s.csv", ingest_settings, voice_map={"Maya": "en-f", "*": "en-n"})
    assert with_default.ok and [ln.voice for ln in with_default.lines] == ["en-f", "en-n", "en-n"]


def test_explicit_voice_wins_over_the_map(ingest_settings) -> None:
    result = ingest_text("speaker,text,voice\nZed,Hi,special\n", "s.csv", ingest_settings, voice_map={"Maya": "x"})
    assert result.ok and result.lines[0].voice == "special"


def test_file_size_limit_is_checked_before_reading(ingest_settings, write) -> None:
    small = ingest_settings.model_copy(update={"max_file_bytes": 10})
    assert _codes(ingest_file(write("big.csv", "text\n" + "x" * 20), small)) == [("error", None, "too-large")]


def test_line_count_limit(ingest_settings) -> None:
    few = ingest_settings.model_copy(update={"max_lines": 2})
    result = ingest_text("text\na\nb\nc\n", "s.csv", few)
    assert _codes(result) == [("error", 4, "too-many-lines")] and result.lines == ()  # reading stopped there


def test_unsupported_format_and_missing_file(ingest_settings, tmp_path) -> None:
    assert _codes(ingest_bytes(b"x", "script.docx", ingest_settings)) == [("error", None, "format")]
    assert _codes(ingest_file(tmp_path / "nope.srt", ingest_settings)) == [("error", None, "unreadable")]


def test_undecodable_file(ingest_settings) -> None:
    result = ingest_bytes(
        b"text\nfine\n\xff\xfe\xfd\xfc\xfb\n", "s.csv", ingest_settings.model_copy(update={"fallback_encodings": []})
    )
    assert _codes(result) == [("error", 3, "encoding")]


@pytest.mark.parametrize("style", ["fast but slowly", "用四川话和广东话说"])
def test_contradictory_styles_warn(ingest_settings, style: str) -> None:
    result = ingest_text(f"text,style\nHi,{style}\n", "s.csv", ingest_settings)
    assert result.ok and [p.code for p in result.warnings] == ["style"]
