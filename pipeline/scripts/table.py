"""The lines table: ``Line`` records ↔ Parquet, with an explicit schema so every stage reads the same types."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import __version__
from pipeline.scripts.model import IngestResult, Line

SCHEMA = pa.schema(
    [
        ("script_id", pa.string()),
        ("line_id", pa.string()),
        ("index", pa.int32()),
        ("source_line", pa.int32()),
        ("text", pa.string()),
        ("spoken_text", pa.string()),
        ("text_hash", pa.string()),
        ("lang", pa.string()),
        ("speaker", pa.string()),
        ("voice", pa.string()),
        ("style", pa.string()),
        ("notes", pa.string()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("chapter", pa.string()),
        ("paragraph", pa.int32()),
        ("pause_after", pa.float64()),
        ("lexicon", pa.list_(pa.string())),
    ]
)
# Not an assert: must hold under python -O too. A line's parsed utterance is not stored (it is re-read from text).
if SCHEMA.names != [f.name for f in dataclasses.fields(Line) if f.name != "utterance"]:
    raise ImportError("pipeline.scripts.table: SCHEMA and Line have drifted apart")


class TableError(ValueError):
    pass


def to_arrow(result: IngestResult) -> pa.Table:
    rows = [tuple(_cell(getattr(line, name)) for name in SCHEMA.names) for line in result.lines]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in SCHEMA]
    table = pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )
    meta = {
        "script_id": result.script_id,
        "source": result.source,
        "source_sha256": result.source_sha256,
        "format": result.format,
        "encoding": result.encoding or "",
        "warnings": str(len(result.warnings)),
        "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dubflow_version": __version__,
    }
    return table.replace_schema_metadata({"dubflow": json.dumps(meta)})


def _cell(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def write_lines(result: IngestResult, path: str | Path) -> Path:
    """Write the table atomically (temp file + rename); refuses a result with errors."""
    if not result.ok:
        raise TableError(f"{result.source}: {len(result.errors)} error(s); no lines table written")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(to_arrow(result), tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_lines(path: str | Path) -> list[Line]:
    table = pq.read_table(path)
    if table.schema.remove_metadata() != SCHEMA:
        raise TableError(f"{path}: not a dubflow lines table (schema differs)")
    return [Line(**{**row, "lexicon": tuple(row["lexicon"] or ())}) for row in table.to_pylist()]


def table_metadata(path: str | Path) -> dict[str, str]:
    raw = pq.read_schema(path).metadata or {}
    return json.loads(raw.get(b"dubflow", b"{}"))
