"""Hostile and oversized scripts end as clear problems, within bounded memory, never as tracebacks or wrong text.

Time is measured by bench/hostile.py (a table per input); here each input is checked for what it must produce and
for the memory Python allocates while reading it (tracemalloc), which does not depend on the machine's load.
"""

from __future__ import annotations

import tracemalloc

import pytest

from pipeline.scripts.ingest import ingest_bytes, ingest_text
from pipeline.scripts.model import MAX_LISTED_PER_CODE
from pipeline.settings import IngestSettings
from tests.security import hostile

MB = 1024 * 1024


def _read(data: bytes, name: str, settings: IngestSettings):
    tracemalloc.start()
    try:
        result = ingest_bytes(data, name, settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def _codes(result) -> list[str]:
    return sorted({p.code for p in result.errors})


def test_an_xlsx_zip_bomb_is_refused_before_openpyxl_reads_it(ingest_settings: IngestSettings) -> None:
    result, peak = _read(hostile.xlsx_rows_bomb(), "bomb.xlsx", ingest_settings)
    assert _codes(result) == ["too-many-lines"] and "more than 20,000 rows" in result.errors[0].message
    assert peak < 200 * MB


def test_an_xlsx_cell_of_500_mb_is_refused_unread(ingest_settings: IngestSettings) -> None:
    result, peak = _read(hostile.xlsx_huge_cell(), "cell.xlsx", ingest_settings)
    assert _codes(result) == ["too-large"] and "xl/sharedStrings.xml" in result.errors[0].message
    assert peak < 200 * MB


def test_an_oversized_cell_within_the_unpacked_limit_is_an_error_on_its_row(ingest_settings: IngestSettings) -> None:
    result = ingest_text("text\n" + "x" * 12_000 + "\n", "s.csv", ingest_settings)
    assert [(p.line, p.code) for p in result.errors][:1] == [(2, "too-long")]


@pytest.mark.parametrize(("maker", "name"), [(hostile.json_nested, "deep.json"), (hostile.jsonl_nested, "deep.jsonl")])
def test_deep_nesting_is_refused_before_parsing(maker, name: str, ingest_settings: IngestSettings) -> None:
    result, _ = _read(maker(), name, ingest_settings)
    assert "bad-json" in _codes(result)
    assert any("nested 100,000 levels deep" in p.message or "levels deep" in p.message for p in result.errors)


def test_a_decoy_lines_array_never_gets_its_text_voiced(ingest_settings: IngestSettings) -> None:
    result = ingest_bytes(hostile.json_injection(), "inject.json", ingest_settings)
    assert result.ok and [line.text for line in result.lines] == ["real"]
    assert [p.code for p in result.warnings] == ["unknown-column"]  # the meta key is named as ignored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"lines": [{"text": "a"}], "lines": [{"text": "b"}]}', "key 'lines' appears twice"),
        ('{"lines": [{"text": "a", "text": "b"}]}', "key 'text' appears twice"),
        ('{"script": [{"text": "a"}]}', 'expected a list of line objects, or an object {"lines": [...]}'),
        ('[{"text": ["a"]}]', "$[0].text: list — a field must be text"),
        ('[{"text": "a"}, 7]', "$[1]: 7 — a line must be an object"),
        ('{"lines": [{"text": "a"}]', "invalid JSON"),
    ],
)
def test_json_outside_the_schema_is_an_error_naming_where(text: str, message: str, ingest_settings) -> None:
    result = ingest_text(text, "s.json", ingest_settings)
    assert not result.ok and any(message in p.message for p in result.errors), [str(p) for p in result.errors]


def test_a_20000_character_line_is_refused_in_a_dubbing_script(ingest_settings: IngestSettings) -> None:
    sheet = "text\n" + "word " * 1_800 + "\n"
    result = ingest_text(sheet, "s.csv", ingest_settings)
    assert _codes(result) == ["line-too-long"] and "8,999 characters" in result.errors[0].message  # stripped


def test_a_20000_character_paragraph_is_split_for_narration(ingest_settings: IngestSettings) -> None:
    """Even without a sentence or clause boundary in it, no piece is longer than the language's max_chars."""
    for text, lang in (("word " * 4_000, "en"), ("字" * 20_000, "zh")):
        result = ingest_text(text, "book.txt", ingest_settings)
        assert result.ok, result.problems
        limit = ingest_settings.max_chars[lang]
        assert len(result.lines) >= 20_000 // (limit + 1)
        assert max(len(line.text) for line in result.lines) <= limit
        assert "".join(line.text for line in result.lines).replace(" ", "") == text.replace(" ", "")


def test_a_cue_nobody_can_say_in_its_slot_is_a_warning_with_the_numbers(ingest_settings: IngestSettings) -> None:
    srt = "1\n00:00:01,000 --> 00:00:01,900\n" + "Far too many words for a cue this short, " * 4 + "\n"
    result = ingest_text(srt, "a.srt", ingest_settings)
    assert result.ok and [p.code for p in result.warnings] == ["too-fast"]
    assert "in a 0.90 s slot" in result.warnings[0].message and "25 characters/s" in result.warnings[0].message


def test_the_20_mb_unspeakable_srt_is_refused_and_its_report_stays_readable(ingest_settings) -> None:
    result, _ = _read(hostile.fast_srt(), "fast.srt", ingest_settings)
    assert _codes(result) == ["line-too-long"]
    per_code = {code: sum(1 for p in result.problems if p.code == code) for code in ("line-too-long", "too-fast")}
    assert per_code == {"line-too-long": MAX_LISTED_PER_CODE + 1, "too-fast": MAX_LISTED_PER_CODE + 1}
    assert any(p.message == "11,557 more problems like this are not listed" for p in result.problems)
