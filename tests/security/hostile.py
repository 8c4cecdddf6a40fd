"""Hostile script files, built in memory: what an attacker (or a broken exporter) hands the ingester.

Shared by tests/security/ and bench/hostile.py, which measures each one's time and peak memory.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Iterator

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _xlsx(sheet_rows: Iterable[str], shared: Iterable[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS}>'.encode())
            for chunk in shared:
                part.write(chunk.encode())
            part.write(b"</sst>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>'.encode())
            for row in sheet_rows:
                part.write(row.encode())
            part.write(b"</sheetData></worksheet>")
    return out.getvalue()


def xlsx_rows_bomb(rows: int = 1_000_000) -> bytes:
    """A small file with a header and ``rows`` identical rows of one short cell (inflates ~500×)."""
    header = '<row><c t="inlineStr"><is><t>text</t></is></c></row>'
    return _xlsx([header, *(['<row><c t="inlineStr"><is><t>Hello.</t></is></c></row>'] * rows)], [])


def xlsx_huge_cell(chars: int = 500_000_000) -> bytes:
    """One shared string of ``chars`` characters (compressed to ~0.1 % of that), referenced by one cell."""
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>'
    cell = '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    block = "a" * 1_000_000

    def shared() -> Iterator[str]:
        yield "<si><t>"
        for _ in range(chars // len(block)):
            yield block
        yield "</t></si>"

    return _xlsx([header, cell], shared())


def json_nested(depth: int = 100_000) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def jsonl_nested(depth: int = 100_000) -> bytes:
    return ('{"text": "fine"}\n' + "[" * depth + "]" * depth + "\n").encode()


def json_injection() -> bytes:
    return json.dumps({"meta": {"lines": 0, "alt": [{"text": "INJECTED"}]}, "lines": [{"text": "real"}]}).encode()


def long_line_csv(chars: int = 20_000) -> bytes:
    return ("text\n" + "word " * (chars // 5) + "\n").encode()


def fast_srt(cues: int = 11_607, chars: int = 1_700) -> bytes:
    """Many cues of ~``chars`` characters in 0.9 s slots: a ~20 MB file nobody can speak."""
    sentence = ("This cue holds far more words than anyone could say. " * (chars // 53 + 1))[:chars]
    out = []
    for n in range(cues):
        start = n * 1.0
        out.append(f"{n + 1}\n{_stamp(start)} --> {_stamp(start + 0.9)}\n{sentence}\n")
    return "\n".join(out).encode()


def _stamp(s: float) -> str:
    return f"{int(s // 3600):02d}:{int(s // 60 % 60):02d}:{int(s % 60):02d},{int(s * 1000 % 1000):03d}"
