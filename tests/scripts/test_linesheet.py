from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import Workbook

from pipeline.scripts.ingest import ingest_bytes, ingest_text


def test_csv_headers_case_and_aliases(ingest_settings) -> None:
    sheet = (
        "Line_ID,Character,Text,TC In,TC Out,Voice,Style,Language,Notes\n"
        'z1,林晓,你好！,00:00:01.000,"00:00:02,500",zh-f,用兴奋的语气说,ZH,first\n'
    )
    result = ingest_text(sheet, "sheet.csv", ingest_settings)
    assert result.ok, result.problems
    line = result.lines[0]
    assert (line.line_id, line.speaker, line.text, line.start, line.end) == ("z1", "林晓", "你好！", 1.0, 2.5)
    assert (line.voice, line.style, line.lang, line.notes) == ("zh-f", "用兴奋的语气说", "zh", "first")


def test_only_text_is_required_and_blank_rows_are_layout(ingest_settings) -> None:
    result = ingest_text("text\nHello there.\n\n,\n你好。\n", "s.csv", ingest_settings)
    assert result.ok, result.problems
    assert [(ln.text, ln.lang, ln.source_line) for ln in result.lines] == [
        ("Hello there.", "en", 2),
        ("你好。", "zh", 5),
    ]


def test_semicolon_csv_and_tsv(ingest_settings) -> None:
    semi = ingest_text("speaker;text;start\nA;Bonjour, ça va;1.5\n", "fr.csv", ingest_settings)
    assert semi.ok and semi.lines[0].text == "Bonjour, ça va" and semi.lines[0].start == 1.5
    tsv = ingest_text("text\tstart\tend\nHi, you.\t00:00:01:12\t00:00:02:00\n", "s.tsv", ingest_settings)
    assert tsv.ok and tsv.lines[0].start == pytest.approx(1.48) and tsv.lines[0].end == 2.0


def test_quoted_multiline_cell_keeps_row_line_numbers(ingest_settings) -> None:
    result = ingest_text('text,notes\n"one",a\n"two","multi\nline note"\n"three",b\n', "s.csv", ingest_settings)
    assert [ln.source_line for ln in result.lines] == [2, 3, 5]


def test_xlsx_with_time_and_number_cells(ingest_settings) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["line_id", "speaker", "text", "start", "end", "style"])
    sheet.append(["x1", "林晓", "她[h][ào]干净", dt.time(0, 0, 1, 500_000), 3, "慢一点"])
    sheet.append([2, "陈默", "好的。", "00:00:04.000", "00:00:05.000", None])
    buffer = io.BytesIO()
    book.save(buffer)
    result = ingest_bytes(buffer.getvalue(), "sheet.xlsx", ingest_settings)
    assert result.ok, result.problems
    assert [(ln.line_id, ln.start, ln.end, ln.source_line) for ln in result.lines] == [
        ("x1", 1.5, 3.0, 2),
        ("2", 4.0, 5.0, 3),
    ]
    assert result.encoding is None and result.format == "xlsx"


def test_corrupt_xlsx_is_a_clear_error(ingest_settings) -> None:
    result = ingest_bytes(b"PK\x03\x04 not really a zip", "broken.xlsx", ingest_settings)
    assert [p.code for p in result.errors] == ["unreadable"]


def test_xlsx_whose_sheet_xml_is_broken_is_a_clear_error(ingest_settings) -> None:
    """Some exporters write control characters as XML character references (``&#1;``), which XML 1.0 forbids: the
    sheet's XML is parsed only while rows are read (found by the fuzz test)."""
    import zipfile

    book = Workbook()
    book.active.append(["text"])
    book.active.append(["MARKER"])
    buffer = io.BytesIO()
    book.save(buffer)
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(broken, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            out.writestr(item, data.replace(b"MARKER", b"a&#1;b") if "sheet1" in item.filename else data)
    result = ingest_bytes(broken.getvalue(), "broken.xlsx", ingest_settings)
    assert [(p.code, p.line) for p in result.errors] == [("unreadable", None)], result.problems
    assert "the sheet's XML is broken" in result.errors[0].message


@pytest.mark.parametrize("where", ["value", "key"])
def test_json_escape_naming_half_a_character_is_an_error_on_its_line(where: str, ingest_settings) -> None:
    """``"\\ud83d"`` alone (an emoji cut in two by a tool that counts UTF-16 units) parses as JSON but is no text:
    it is reported on its line, never a crash when the line is written out (found by the fuzz test)."""
    half = '"Hi \\ud83d"'
    line = f'{{"text": {half}}}' if where == "value" else f'{{"text": "Hi", {half}: "x"}}'
    for name, text in (("s.json", f'[\n{{"text": "Fine."}},\n{line}\n]'), ("s.jsonl", f'{{"text": "Fine."}}\n{line}')):
        result = ingest_text(text, name, ingest_settings)
        assert [(p.code, p.line) for p in result.errors] == [("bad-field", 3 if name == "s.json" else 2)], name
        assert "\\ud83d is half of a character" in result.errors[0].message
        str(result.errors[0]).encode("utf-8")  # printable


def test_json_array_and_object_forms_with_line_numbers(ingest_settings) -> None:
    items = [{"Line_ID": "j1", "text": "One."}, {"text": "Two.", "start": 1, "end": "00:00:02.000"}]
    as_list = ingest_text(json.dumps(items, indent=2), "s.json", ingest_settings)
    assert as_list.ok, as_list.problems
    assert [ln.source_line for ln in as_list.lines] == [2, 6]
    as_object = ingest_text(json.dumps({"lines": items}), "s.json", ingest_settings)
    assert [ln.text for ln in as_object.lines] == ["One.", "Two."]


def test_jsonl(ingest_settings) -> None:
    text = '{"text": "One.", "speaker": "A"}\n\n{"text": "Two.", "lang": "en-GB"}\n'
    result = ingest_text(text, "s.jsonl", ingest_settings)
    assert result.ok and [(ln.source_line, ln.lang) for ln in result.lines] == [(1, "en"), (3, "en-gb")]


def test_unknown_columns_warn_or_fail_by_setting(ingest_settings) -> None:
    result = ingest_text("text,mood\nHi.,happy\n", "s.csv", ingest_settings)
    assert result.ok and [p.code for p in result.warnings] == ["unknown-column"]
    strict = ingest_settings.model_copy(update={"unknown_column": "error"})
    assert [p.code for p in ingest_text("text,mood\nHi.,happy\n", "s.csv", strict).errors] == ["unknown-column"]
