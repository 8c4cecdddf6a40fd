"""Per-line takes in the manifest: recorded for every line, invisible to the content digest while they are 0."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from pipeline.storage.publish import Delivery, publish, read_manifest
from pipeline.storage.store import ObjectStore
from tests.storage.test_publish import _clips


def _digest_before_takes(manifest: dict) -> str:
    """The content digest as it was computed before takes existed (every entry but the object key)."""
    lines = [{k: v for k, v in entry.items() if k not in ("key", "take")} for entry in manifest["lines"]]
    files = [{k: v for k, v in entry.items() if k != "key"} for entry in manifest["files"]]
    canonical = json.dumps({"lines": lines, "extras": files}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_takes_are_recorded_and_take_zero_keeps_the_old_digest(store: ObjectStore, tmp_path: Path) -> None:
    lines = _clips(tmp_path, 3)
    first = publish(store, Delivery("acme", "ep01", lines, "run-1"))
    v1 = read_manifest(store, "acme", "ep01", first.version)
    assert v1 is not None and [entry["take"] for entry in v1["lines"]] == [0, 0, 0]
    # Versions published before takes existed stay "already published" when re-run.
    assert v1["content_sha256"] == _digest_before_takes(v1)

    retaken = [replace(line, take=1) if line.line_id == "en-001" else line for line in lines]
    second = publish(store, Delivery("acme", "ep01", retaken, "run-2"))
    assert (second.version, second.already_published) == (2, False)  # same audio, another take: a new version
    v2 = read_manifest(store, "acme", "ep01", 2)
    assert v2 is not None and {e["line_id"]: e["take"] for e in v2["lines"]} == {"en-000": 0, "en-001": 1, "en-002": 0}
    assert v2["content_sha256"] != _digest_before_takes(v2)

    again = publish(store, Delivery("acme", "ep01", retaken, "run-3"))
    assert (again.version, again.already_published, again.uploaded) == (2, True, 0)
