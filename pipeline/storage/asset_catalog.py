"""The asset catalog: a Parquet dataset under ``catalog/`` in the assets bucket, one row per published line.

Hive-partitioned by publish date and project (``catalog/date=…/project=…/{script}-v{n}.parquet``), one part per
published version. Parts are derived from manifests with deterministic keys, so writing one twice is harmless and
the whole catalog can be rebuilt from the manifests (``dubflow catalog rebuild``) after a backfill.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.storage import keys
from pipeline.storage.store import ObjectStore

# The partition columns (date, project) live in the key, not in the file, as hive-style readers expect.
SCHEMA = pa.schema(
    [
        pa.field("script_id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("duration_s", pa.float64()),
        pa.field("sample_rate", pa.int32()),
        pa.field("loudness_lufs", pa.float64()),
        pa.field("voice", pa.string()),
        pa.field("engine", pa.string()),
        pa.field("qa_verdict", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("published_at", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("manifest_key", pa.string(), nullable=False),
        # dubflow.catalog/2: what data engineers join on and filter by (null in parts of older manifests)
        pa.field("speaker", pa.string()),
        pa.field("cue_start_s", pa.float64()),
        pa.field("cue_end_s", pa.float64()),
        pa.field("take", pa.int32(), nullable=False),
        pa.field("style", pa.string()),
        pa.field("review_note", pa.bool_(), nullable=False),  # a reviewer's note made this take
        pa.field("profile", pa.string()),
    ]
)
_PART = re.compile(r"^catalog/date=(\d{4}-\d{2}-\d{2})/project=([^/]+)/[^/]+\.parquet$")
_MANIFEST = re.compile(r"^[^/]+/[^/]+/v[1-9][0-9]*/manifest\.json$")


def manifest_rows(manifest: dict[str, Any]) -> pa.Table:
    published = datetime.fromisoformat(manifest["published_at"])
    manifest_key = keys.manifest_key(manifest["project"], manifest["script_id"], manifest["version"])
    source = manifest.get("source") or {}
    reviews = source.get("review") or {}

    def noted(line: dict[str, Any]) -> bool:
        review = reviews.get(line["line_id"]) or {}
        return bool(line.get("take")) and review.get("take") == line.get("take") and bool(review.get("note"))

    rows = [
        {
            "script_id": manifest["script_id"],
            "version": manifest["version"],
            "line_id": line["line_id"],
            "lang": line["lang"],
            "key": line["key"],
            "sha256": line["sha256"],
            "bytes": line["bytes"],
            "duration_s": line.get("duration"),
            "sample_rate": line.get("sample_rate"),
            "loudness_lufs": line.get("loudness_lufs"),
            "voice": line.get("voice"),
            "engine": line.get("engine"),
            "qa_verdict": line.get("qa_verdict", "not-checked"),
            "text": line.get("text"),
            "run_id": manifest["run_id"],
            "published_at": published,
            "manifest_key": manifest_key,
            "speaker": line.get("speaker"),
            "cue_start_s": line.get("cue_start"),
            "cue_end_s": line.get("cue_end"),
            "take": int(line.get("take") or 0),
            "style": line.get("style"),
            "review_note": noted(line),
            "profile": source.get("profile"),
        }
        for line in manifest["lines"]
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


CATALOG_SCHEMA = "dubflow.catalog/2"  # bumped with SCHEMA: parts of the old one are rewritten


def write_catalog_part(store: ObjectStore, manifest: dict[str, Any], force: bool = False) -> str:
    """Write the catalog part of one published version unless an up-to-date one exists; returns its key."""
    day = datetime.fromisoformat(manifest["published_at"]).date()
    key = keys.catalog_key(day, manifest["project"], manifest["script_id"], manifest["version"])
    buffer = io.BytesIO()
    pq.write_table(manifest_rows(manifest), buffer, compression="zstd")
    data = buffer.getvalue()
    # Parquet bytes embed the writer version, so compare what the part says rather than the bytes.
    info, says = store.stat("assets", key), {"content-sha256": manifest["content_sha256"], "schema": CATALOG_SCHEMA}
    if force or info is None or any(info.metadata.get(name) != value for name, value in says.items()):
        store.put_bytes("assets", key, data, content_type="application/vnd.apache.parquet", metadata=says)
    return key


def iter_manifests(store: ObjectStore, project: str | None = None) -> Iterator[dict[str, Any]]:
    """Every published manifest in the assets bucket (or one project's)."""
    prefix = f"{keys.project_id(project)}/" if project else ""
    for obj in store.list("assets", prefix):
        if _MANIFEST.match(obj.key) and not obj.key.startswith(keys.CATALOG_PREFIX):
            yield json.loads(store.get_bytes("assets", obj.key))


def rebuild(
    store: ObjectStore, project: str | None = None, since: date | None = None, until: date | None = None
) -> list[str]:
    """Rewrite the catalog part of every manifest published in [since, until]; returns the part keys."""
    manifests = iter_manifests(store, project)
    chosen = (m for m in manifests if _within(datetime.fromisoformat(m["published_at"]).date(), since, until))
    return [write_catalog_part(store, manifest, force=True) for manifest in chosen]


def read_catalog(
    store: ObjectStore, project: str | None = None, since: date | None = None, until: date | None = None
) -> pd.DataFrame:
    """The catalog rows, pruned by the partition keys before anything is downloaded."""
    tables = []
    for obj in store.list("assets", keys.CATALOG_PREFIX):
        match = _PART.match(obj.key)
        if not match:
            continue
        day, part_project = date.fromisoformat(match.group(1)), match.group(2)
        if (project and part_project != project) or not _within(day, since, until):
            continue
        table = pq.read_table(io.BytesIO(store.get_bytes("assets", obj.key)), schema=SCHEMA)
        table = table.append_column("date", pa.array([day] * table.num_rows, pa.date32()))
        tables.append(table.append_column("project", pa.array([part_project] * table.num_rows, pa.string())))
    if not tables:
        empty = SCHEMA.append(pa.field("date", pa.date32())).append(pa.field("project", pa.string()))
        return empty.empty_table().to_pandas()
    frame = pa.concat_tables(tables).to_pandas()
    return frame.sort_values(["project", "script_id", "version", "lang", "line_id"], ignore_index=True)


def _within(day: date, since: date | None, until: date | None) -> bool:
    return (since is None or day >= since) and (until is None or day <= until)


SUMMARY_COLUMNS = "project script_id version langs lines seconds pass warn fail not-checked published_at".split()


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per published version: what `dubflow catalog list` prints."""
    if frame.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    grouped = frame.groupby(["project", "script_id", "version"], sort=True)
    summary = grouped.agg(
        langs=("lang", lambda s: ",".join(sorted(set(s)))),
        lines=("line_id", "size"),
        seconds=("duration_s", "sum"),
        published_at=("published_at", "max"),
    )
    verdicts = frame.pivot_table(
        index=["project", "script_id", "version"], columns="qa_verdict", values="line_id", aggfunc="count", fill_value=0
    )
    for verdict in ("pass", "warn", "fail", "not-checked"):
        summary[verdict] = verdicts.get(verdict, 0)
    return summary.reset_index()[SUMMARY_COLUMNS]
