"""``orchestrate.voice_script`` with a reviewer's retake, on the real S3 server, a real cluster and real engines."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.orchestrate import discover_scripts, voice_script
from pipeline.settings import ExternalClusterSettings, Settings
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore

ROWS = [("rt-0001", "Good evening, harbour."), ("rt-0002", "The tide is turning."),
        ("rt-0003", "Stay close to the light.")]  # fmt: skip
REVIEW = {"take": 1, "note": "too flat, more urgency", "reviewer": "ann", "from_version": 1}


@pytest.fixture
def on_cluster(settings: Settings, dask_client) -> Settings:
    """The suite's cluster as an external one, so voice_script opens no cluster of its own."""
    return settings.model_copy(
        update={
            "dask": settings.dask.model_copy(
                update={
                    "mode": "external",
                    "external": ExternalClusterSettings(scheduler_address=dask_client.scheduler.address),
                }
            )
        }
    )


def _manifest(store: ObjectStore, summary: dict) -> dict:
    key = summary["manifest"].split("/", 3)[3]
    return json.loads(store.get_bytes("assets", key))


def test_a_retake_publishes_a_new_version_and_a_repeat_publishes_nothing(
    on_cluster: Settings, store: ObjectStore, tmp_path: Path
) -> None:
    path = tmp_path / "retake.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([("line_id", "text"), *ROWS])
    put_script(store, path, "t", date(2026, 11, 20))
    [item] = discover_scripts(on_cluster, "t", None, None, "t/2026-11-20/retake.csv")

    first = voice_script(on_cluster, item, "run-1")
    assert (first["version"], first["retakes"], first["qa"].get("fail", 0)) == (1, [], 0), first
    v1 = _manifest(store, first)
    assert {line["take"] for line in v1["lines"]} == {0} and v1["source"]["review"] == {}

    retake = voice_script(on_cluster, item, "run-2", retake={"rt-0002": REVIEW})
    assert (retake["version"], retake["already_published"], retake["retakes"]) == (2, False, ["rt-0002"]), retake
    assert retake["takes"] == {"rt-0002": 1}
    v2 = _manifest(store, retake)
    assert {line["line_id"]: line["take"] for line in v2["lines"]} == {"rt-0001": 0, "rt-0002": 1, "rt-0003": 0}
    assert v2["source"]["review"] == {"rt-0002": REVIEW}
    old, new = ({line["line_id"]: line["sha256"] for line in m["lines"]} for m in (v1, v2))
    assert new["rt-0001"] == old["rt-0001"] and new["rt-0003"] == old["rt-0003"]  # untouched lines: same objects
    assert new["rt-0002"] != old["rt-0002"]  # Piper samples a new take

    repeat = voice_script(on_cluster, item, "run-3", retake={"rt-0002": REVIEW})  # a retried retake run
    assert (repeat["version"], repeat["already_published"], repeat["uploaded"]) == (2, True, 0), repeat
    assert "0 synthesized, 3 cached" in repeat["synthesis"]
    # A plain re-run (a retry of the day's schedule, a backfill) keeps the accepted take instead of reverting it.
    plain = voice_script(on_cluster, item, "run-4")
    assert (plain["version"], plain["already_published"], plain["takes"]) == (2, True, {"rt-0002": 1}), plain

    with pytest.raises(ValueError, match=r"not in script t/2026-11-20/retake\.csv: nope-1, nope-2"):
        voice_script(on_cluster, item, "run-5", retake={"nope-2": REVIEW, "rt-0001": REVIEW, "nope-1": REVIEW})
    with pytest.raises(ValueError, match=r"take must be an integer 1\.\.99, not 0"):
        voice_script(on_cluster, item, "run-6", retake={"rt-0001": {**REVIEW, "take": 0}})
