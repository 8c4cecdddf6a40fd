"""``airflow standalone`` end to end, driven only through the REST API: a triggered run with a conf, and a
backfill over two intervals that a second backfill re-runs without duplicating anything.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.storage.asset_catalog import read_catalog
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import SAMPLES
from tests.e2e.conftest import PROJECT, RUN_TIMEOUT, Standalone, iso

DAG_ID = "dubflow_dubbing"
TRIGGER_DAY = date(2026, 3, 2)
BACKFILL_DAYS = (date(2026, 2, 10), date(2026, 2, 11))

pytestmark = [pytest.mark.timeout(900)]


def _backfill(airflow: Standalone, start: date, end: date) -> list[str]:
    """Backfill [start, end] reprocessing completed runs; waits for it to finish and returns its run ids."""
    body = {"dag_id": DAG_ID, "from_date": iso(start), "to_date": iso(end), "reprocess_behavior": "completed",
            "max_active_runs": 2}  # fmt: skip
    for _ in range(20):  # a backfill whose runs all finished stays "running" until the scheduler's next pass
        response = airflow.client.post("/api/v2/backfills", json=body)
        if not (response.status_code == 409 and "already a running backfill" in response.text):
            break
        time.sleep(1)
    assert response.is_success, f"POST /backfills: HTTP {response.status_code} {response.text[:2000]}"
    backfill = response.json()
    deadline = time.monotonic() + RUN_TIMEOUT
    params = {"logical_date_gte": iso(start), "logical_date_lte": iso(end), "order_by": "logical_date"}
    while True:
        runs = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns", params=params)["dag_runs"]
        ours = [run for run in runs if run["run_type"] == "backfill"]
        done = airflow.api("GET", f"/backfills/{backfill['id']}")["completed_at"] is not None
        if done or time.monotonic() > deadline:
            break
        time.sleep(1)
    run_ids = [run["dag_run_id"] for run in ours]
    airflow.wait_for_runs(DAG_ID, run_ids, timeout=max(deadline - time.monotonic(), 1))
    return run_ids


def _assets(store: ObjectStore) -> set[tuple[str, str, str | None]]:
    return {(obj.key, obj.etag, obj.version_id) for obj in store.list("assets")}


def test_a_triggered_run_voices_the_named_script_and_publishes_it(standalone: Standalone, store: ObjectStore) -> None:
    key = put_script(store, SAMPLES / "en_dub_ep01.srt", PROJECT, TRIGGER_DAY).key
    run_id = f"e2e-trigger-{uuid.uuid4().hex[:8]}"
    run = standalone.trigger(DAG_ID, run_id, {"project": PROJECT, "script_key": key}, iso(TRIGGER_DAY))
    assert run["state"] in ("queued", "running") and run["conf"]["script_key"] == key, run
    standalone.wait_for_runs(DAG_ID, [run_id])

    states = standalone.task_states(DAG_ID, run_id)
    assert states == {
        "discover[-1]": "success",
        "voice_script[0]": "success",
        "summarize[-1]": "success",
        "all_scripts_voiced[-1]": "success",
    }, states
    manifest = json.loads(store.get_bytes("assets", f"{PROJECT}/en_dub_ep01/v1/manifest.json"))
    assert manifest["run_id"] == run_id and manifest["files"]
    catalog = read_catalog(store, PROJECT)
    assert len(catalog) > 0 and set(catalog["script_id"]) == {"en_dub_ep01"}
    assert set(catalog["version"]) == {1} and set(catalog["run_id"]) == {run_id}, catalog[["version", "run_id"]]


def test_a_backfill_publishes_each_day_and_a_second_backfill_uploads_nothing(
    standalone: Standalone, store: ObjectStore, tmp_path: Path
) -> None:
    cues = (SAMPLES / "en_dub_ep01.srt").read_text(encoding="utf-8").strip().split("\n\n")
    names = []
    for n, day in enumerate(BACKFILL_DAYS):  # two short episodes, one arriving on each day
        script = tmp_path / f"backfill_ep{n + 2:02d}.srt"
        script.write_text("\n\n".join(cues[n * 3 : n * 3 + 3]) + "\n", encoding="utf-8")
        put_script(store, script, PROJECT, day)
        names.append(script.stem)
    before = read_catalog(store, PROJECT)

    first = _backfill(standalone, *BACKFILL_DAYS)
    assert len(first) == 2, first
    catalog = read_catalog(store, PROJECT)
    new = catalog[~catalog["script_id"].isin(before["script_id"].unique())]
    assert sorted(new["script_id"].unique()) == sorted(names), catalog[["script_id", "version"]].drop_duplicates()
    for name in names:
        manifest = json.loads(store.get_bytes("assets", f"{PROJECT}/{name}/v1/manifest.json"))
        assert manifest["run_id"] in first and manifest["files"], manifest.get("run_id")
    published = _assets(store)

    second = _backfill(standalone, *BACKFILL_DAYS)  # the same intervals again: cleared and re-run
    assert sorted(second) == sorted(first)
    again = read_catalog(store, PROJECT)
    assert len(again) == len(catalog) and set(again["version"]) == {1}, again[["script_id", "version"]]
    for name in names:
        assert not list(store.list("assets", f"{PROJECT}/{name}/v2/")), f"{name}: a second version was published"
    assert _assets(store) == published, "the second backfill wrote to the assets bucket"


def test_a_script_put_in_the_inbox_is_voiced_without_a_trigger(standalone: Standalone, store: ObjectStore) -> None:
    """The inbox watcher (an asset watcher in the triggerer, polling every 5 s here) announces the new script;
    the scheduler starts an asset-triggered run of the dubbing DAG, which voices and publishes it."""
    cues = (SAMPLES / "en_dub_ep01.srt").read_text(encoding="utf-8").strip().split("\n\n")
    script = Path(standalone.home) / "pickup_ep.srt"
    script.write_text("\n\n".join(cues[:2]) + "\n", encoding="utf-8")
    put = time.monotonic()
    key = put_script(store, script, PROJECT, datetime.now(UTC).date()).key
    deadline, runs = put + 180, []
    while not runs and time.monotonic() < deadline:
        found = standalone.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"run_type": "asset_triggered"})["dag_runs"]
        runs = [run["dag_run_id"] for run in found]
        time.sleep(2)
    assert runs, f"no asset-triggered run of {DAG_ID} within 180 s of putting {key}\n{standalone.log_tail(3000)}"
    picked_up = time.monotonic() - put
    standalone.wait_for_runs(DAG_ID, runs)
    manifest_key = f"{PROJECT}/pickup_ep/v1/manifest.json"
    assert store.exists("assets", manifest_key), "\n".join(standalone.task_logs(DAG_ID, run) for run in runs)
    manifest = json.loads(store.get_bytes("assets", manifest_key))
    assert manifest["source"]["inbox_key"] == key and manifest["run_id"] in runs, manifest["run_id"]
    print(f"picked up {picked_up:.0f} s after the put; voiced and published {time.monotonic() - put:.0f} s after")
