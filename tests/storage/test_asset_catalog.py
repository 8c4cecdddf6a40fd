"""The catalog is derived from manifests: rows equal them, a lost part is rebuilt, any Parquet reader can read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from pipeline.storage.asset_catalog import iter_manifests, read_catalog, rebuild, summarize
from pipeline.storage.publish import Delivery, publish
from pipeline.storage.store import ObjectStore
from tests.storage.test_publish import _clips


def _publish_two(store: ObjectStore, tmp_path: Path) -> None:
    publish(store, Delivery("acme", "ep01", _clips(tmp_path / "a", 3), "run-a"))
    publish(store, Delivery("zeta", "doc", _clips(tmp_path / "b", 2, lang="zh"), "run-b"))


def _rows(frame) -> list[tuple]:  # type: ignore[no-untyped-def]
    columns = ["project", "script_id", "version", "line_id", "key", "sha256", "run_id"]
    return sorted(frame[columns].itertuples(index=False, name=None))


def test_catalog_rows_equal_the_manifests(store: ObjectStore, tmp_path: Path) -> None:
    _publish_two(store, tmp_path)
    expected = sorted(
        (m["project"], m["script_id"], m["version"], line["line_id"], line["key"], line["sha256"], m["run_id"])
        for m in iter_manifests(store)
        for line in m["lines"]
    )
    assert len(expected) == 5
    assert _rows(read_catalog(store)) == expected
    assert _rows(read_catalog(store, project="zeta")) == [r for r in expected if r[0] == "zeta"]
    tomorrow = datetime.now(UTC).date() + timedelta(days=2)
    assert read_catalog(store, since=tomorrow).empty
    summary = summarize(read_catalog(store))
    assert summary[["project", "lines", "not-checked"]].values.tolist() == [["acme", 3, 3], ["zeta", 2, 2]]


def test_rebuild_restores_lost_parts(store: ObjectStore, tmp_path: Path) -> None:
    _publish_two(store, tmp_path)
    before = _rows(read_catalog(store))
    parts = [o.key for o in store.list("assets", "catalog/")]
    assert len(parts) == 2
    store.client.remove_object(bucket_name=store.bucket("assets"), object_name=parts[0])  # an operator's accident
    assert len(read_catalog(store)) < len(before)
    assert sorted(rebuild(store)) == sorted(parts)
    assert _rows(read_catalog(store)) == before
    assert rebuild(store, project="acme", since=datetime.now(UTC).date() + timedelta(days=1)) == []


def test_any_hive_aware_parquet_reader_reads_the_catalog(store: ObjectStore, tmp_path: Path) -> None:
    _publish_two(store, tmp_path)
    c = store.connection
    s3 = pafs.S3FileSystem(access_key=c.access_key, secret_key=c.secret_key, endpoint_override=c.url, region=c.region)
    dataset = ds.dataset(f"{store.bucket('assets')}/catalog", filesystem=s3, format="parquet", partitioning="hive")
    table = dataset.to_table(filter=ds.field("project") == "acme")
    assert table.num_rows == 3
    assert sorted(table.column("line_id").to_pylist()) == sorted(read_catalog(store, "acme")["line_id"])


def test_empty_catalog(store: ObjectStore) -> None:
    assert read_catalog(store).empty
    assert summarize(read_catalog(store)).empty
    with pytest.raises(ValueError):
        list(iter_manifests(store, project="../x"))


def test_rebuild_repairs_a_corrupt_part(store: ObjectStore, tmp_path: Path) -> None:
    _publish_two(store, tmp_path)
    before = _rows(read_catalog(store))
    part = next(o.key for o in store.list("assets", "catalog/") if "project=acme" in o.key)
    info = store.stat("assets", part)
    assert info is not None
    store.put_bytes("assets", part, b"not parquet", metadata=dict(info.metadata))  # same metadata, bad bytes
    rebuild(store, project="acme")
    assert _rows(read_catalog(store)) == before


def test_the_catalog_carries_what_data_engineers_join_on(store: ObjectStore, tmp_path: Path) -> None:
    """dubflow.catalog/2: speaker, the cue's slot, take, style, whether a reviewer's note made the take, profile.
    A part written under the old schema is rewritten with them (its parquet says which schema it is)."""
    from dataclasses import replace

    from pipeline.storage.asset_catalog import CATALOG_SCHEMA, SCHEMA

    clips = _clips(tmp_path / "a", 2)
    clips = [replace(clips[0], speaker="MAYA", style="slowly", cue_start=1.0, cue_end=2.5, take=1),
             replace(clips[1], speaker="THEO")]  # fmt: skip
    review = {clips[0].line_id: {"take": 1, "note": "too fast", "reviewer": "ann", "from_version": 1}}
    publish(store, Delivery("acme", "ep02", clips, "run-a", source={"profile": "broadcast", "review": review}))
    frame = read_catalog(store, project="acme").set_index("line_id")
    first, second = frame.loc[clips[0].line_id], frame.loc[clips[1].line_id]
    columns = ["speaker", "cue_start_s", "cue_end_s", "take", "style"]
    assert [first[c] for c in columns] == ["MAYA", 1.0, 2.5, 1, "slowly"]
    assert bool(first["review_note"]) and not bool(second["review_note"]) and second["take"] == 0
    assert set(frame["profile"]) == {"broadcast"} and second["speaker"] == "THEO"
    assert {f.name for f in SCHEMA} >= {
        "speaker",
        "cue_start_s",
        "cue_end_s",
        "take",
        "style",
        "review_note",
        "profile",
    }
    (part,) = [o.key for o in store.list("assets", "catalog/") if "/project=acme/" in o.key]
    assert store.stat("assets", part).metadata["schema"] == CATALOG_SCHEMA == "dubflow.catalog/2"
