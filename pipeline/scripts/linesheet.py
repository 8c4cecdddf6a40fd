"""Line sheets (CSV, TSV, XLSX) and JSON/JSONL → raw lines.

Columns: ``line_id, speaker, text, start, end, voice, style, lang, notes``; only ``text`` is required, headers
are case-insensitive and the common studio spellings (``dialogue``, ``character``, ``tc_in``, ``language`` …)
are accepted. When two columns mean the same field (``Line`` and ``Dialogue``), the one named exactly wins, then
the one earlier in ``ALIASES``, and the other is ignored with a warning.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any
from xml.etree.ElementTree import ParseError

from pipeline.scripts import jsonlines
from pipeline.scripts.model import RawLine, Report
from pipeline.scripts.timecode import TimecodeError, parse_timecode
from pipeline.settings import IngestSettings

COLUMNS = ("line_id", "speaker", "text", "start", "end", "voice", "style", "lang", "notes")
ALIASES = {
    "id": "line_id",
    "lineid": "line_id",
    "character": "speaker",
    "role": "speaker",
    "actor": "speaker",
    "name": "speaker",
    "dialogue": "text",
    "dialog": "text",
    "transcript": "text",
    "sentence": "text",
    "line": "text",
    "in": "start",
    "tc_in": "start",
    "timecode_in": "start",
    "start_time": "start",
    "out": "end",
    "tc_out": "end",
    "timecode_out": "end",
    "end_time": "end",
    "language": "lang",
    "instruction": "style",
    "note": "notes",
    "comment": "notes",
    "comments": "notes",
}


def _key(header: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(header if header is not None else "").strip().lstrip("\ufeff").lower())


def column_name(header: object) -> str:
    key = _key(header)
    return ALIASES.get(key, key)


def _precedence(key: str) -> int:
    """Lower wins: the field's own name, then its aliases in the order ``ALIASES`` lists them."""
    return 0 if key in COLUMNS else 1 + list(ALIASES).index(key)


def _cell(value: Any) -> Any:
    """Spreadsheet cells → what the field parsers take: trimmed strings, ``None`` for blanks, times/numbers kept."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _bounded(value: Any, line: int, report: Report, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        report.error(line, "too-long", f"a cell of {len(value):,} characters (ingest.max_cell_chars is {limit:,})")
        return value[:limit]
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None


class _Columns:
    """Maps a header row to our fields, reporting unknown, duplicate and missing columns once."""

    def __init__(self, headers: Iterable[object], line: int, report: Report, settings: IngestSettings):
        keys = [_key(h) for h in headers]
        self.names = [ALIASES.get(k, k) for k in keys]
        self.ok = True
        seen: dict[str, int] = {}  # field → index of the column that supplies it
        for index, (key, name) in enumerate(zip(keys, self.names, strict=True)):
            if not name:
                continue
            if name in seen:
                other = seen[name]
                if keys[other] == key:
                    report.error(line, "duplicate-column", f"column '{key}' appears twice")
                    self.ok = False
                    continue
                winner, loser = sorted((other, index), key=lambda i: _precedence(keys[i]))
                report.warning(
                    line, "duplicate-column", f"column '{keys[loser]}' is ignored: '{keys[winner]}' is the {name}"
                )
                self.names[loser] = ""
                seen[name] = winner
                continue
            seen[name] = index
            if name not in COLUMNS:
                report.add(
                    settings.unknown_column,
                    line,
                    "unknown-column",
                    f"unknown column '{name}' is ignored (known: {', '.join(COLUMNS)})",
                )
        if "text" not in seen:
            report.error(line, "missing-text-column", f"no 'text' column (columns found: {', '.join(self.names)})")
            self.ok = False

    def row(self, values: Iterable[Any]) -> dict[str, Any]:
        return {n: _cell(v) for n, v in zip(self.names, values, strict=False) if n in COLUMNS}


def _raw(fields: dict[str, Any], line: int, report: Report, settings: IngestSettings) -> RawLine | None:
    if all(v is None for v in fields.values()):
        return None  # a blank row in a sheet is layout, not a line
    times: dict[str, float | None] = {}
    timing_ok = True
    for key in ("start", "end"):
        try:
            times[key] = parse_timecode(fields.get(key), settings.frame_rate)
        except TimecodeError as exc:
            report.error(line, "bad-timecode", f"{key}: {exc}")
            times[key], timing_ok = None, False
    return RawLine(
        source_line=line,
        text=_text(fields.get("text")) or "",
        speaker=_text(fields.get("speaker")),
        line_id=_text(fields.get("line_id")),
        start=times["start"],
        end=times["end"],
        voice=_text(fields.get("voice")),
        style=_text(fields.get("style")),
        lang=_text(fields.get("lang")),
        notes=_text(fields.get("notes")),
        timing_ok=timing_ok,
    )


def _rows_to_raw(rows: Iterator[tuple[int, list[Any]]], report: Report, settings: IngestSettings) -> list[RawLine]:
    """Rows → raw lines, stopping at the first row over ``ingest.max_lines`` (a sheet is read as a stream)."""
    columns: _Columns | None = None
    out: list[RawLine] = []
    for line, values in rows:
        values = [_bounded(v, line, report, settings.max_cell_chars) for v in values]
        if len(out) >= settings.max_lines:
            stopped = f"reading stopped at line {line}"
            report.error(line, "too-many-lines", f"more than {settings.max_lines} lines (ingest.max_lines); {stopped}")
            return []
        if columns is None:
            if not any(_cell(v) is not None for v in values):
                continue
            columns = _Columns(values, line, report, settings)
            if not columns.ok:
                return []
            continue
        if (raw := _raw(columns.row(values), line, report, settings)) is not None:
            out.append(raw)
    if columns is None:
        report.error(None, "empty", "no header row: the sheet is empty")
    return out


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def parse_delimited(text: str, suffix: str, report: Report, settings: IngestSettings) -> list[RawLine]:
    delimiter = "\t" if suffix == ".tsv" else _sniff_delimiter(text)
    try:
        return _rows_to_raw(_csv_rows(text, delimiter), report, settings)
    except csv.Error as exc:
        report.error(None, "unreadable", f"not a readable {suffix[1:].upper()} file: {exc}")
        return []


_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _more_rows_than(book: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bool:
    """Does this worksheet hold more than ``limit`` rows? Counted while inflating, stopping as soon as it does: a
    sheet without a ``<dimension>`` makes openpyxl parse all of it just to size it (8 s for a million rows)."""
    count, tail = 0, b""
    with book.open(member) as part:
        while chunk := part.read(1 << 20):
            window = tail + chunk
            count += len(_ROW.findall(window)) - len(_ROW.findall(tail))
            if count > limit:
                return True
            tail = window[-16:]
    return False


def _unpacked_problem(data: bytes, limit: int, max_rows: int) -> tuple[str, str] | None:
    """Why this workbook must not be opened, or None: it unpacks to more than ``limit`` bytes (the sizes come from
    the zip's directory, which zipfile enforces while inflating, so a lying one gains nothing), or a sheet has more
    rows than a script may have lines. Returns (code, message)."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, ValueError):
        return None  # not a zip at all: openpyxl says so below
    total = sum(m.file_size for m in members)
    if total > limit:
        biggest = max(members, key=lambda m: m.file_size)
        sizes = f"{total:,} bytes ({biggest.filename}: {biggest.file_size:,})"
        return "too-large", f"the workbook unpacks to {sizes}, over ingest.max_xlsx_unpacked_bytes ({limit:,})"
    for member in members:
        if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
            try:
                if _more_rows_than(book, member, max_rows + 1):
                    return "too-many-lines", f"{member.filename} has more than {max_rows:,} rows (ingest.max_lines)"
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                return "unreadable", f"{member.filename} cannot be unpacked: {exc}"
    return None


def parse_xlsx(data: bytes, report: Report, settings: IngestSettings) -> list[RawLine]:
    from openpyxl import load_workbook

    if problem := _unpacked_problem(data, settings.max_xlsx_unpacked_bytes, settings.max_lines):
        report.error(None, *problem)
        return []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException for broken files
        report.error(None, "unreadable", f"not a readable XLSX workbook: {exc}")
        return []
    try:
        sheet = book.worksheets[0]
        if len(book.worksheets) > 1:
            report.warning(None, "extra-sheets", f"only the first sheet '{sheet.title}' is read")
        rows = ((i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1))
        return _rows_to_raw(rows, report, settings)
    except (ParseError, ValueError) as exc:  # read-only mode parses the sheet's XML while rows are read
        report.error(None, "unreadable", f"not a readable XLSX workbook: the sheet's XML is broken ({exc})")
        return []
    finally:
        book.close()


def parse_json(text: str, suffix: str, report: Report, settings: IngestSettings) -> list[RawLine]:
    reader = jsonlines.jsonl_items if suffix == ".jsonl" else jsonlines.json_items
    out: list[RawLine] = []
    unknown: set[str] = set()
    for line, item in reader(text, report, settings.max_json_depth):
        fields: dict[str, Any] = {}
        for key, value in item.items():
            name = column_name(key)
            if name not in COLUMNS:
                unknown.add(name)
            else:
                fields[name] = _cell(value)
        if (raw := _raw(fields, line, report, settings)) is not None:
            out.append(raw)
    for name in sorted(unknown):
        report.add(settings.unknown_column, None, "unknown-column", f"unknown field '{name}' is ignored")
    return out
