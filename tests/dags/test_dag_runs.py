"""``dag.test()`` end to end on the embedded defaults: the suite's S3 server, a real LocalCluster, real engines."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from pipeline.settings import load_settings
from pipeline.storage.catalog import read_catalog
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import SAMPLES

DAY = date(2026, 11, 20)


def _store() -> ObjectStore:
    store = ObjectStore.from_settings(load_settings().storage)
    store.ensure_buckets()
    return store


def _run(dag_id: str, **conf: object):
    from airflow.models import DagBag

    from tests.conftest import REPO

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag(dag_id)
    return dag.test(logical_date=datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC), run_conf=conf or None)


def _states(run) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}


def test_scheduled_dubbing_and_narration_runs_publish_and_rerun_uploads_nothing(airflow_home, s3_env) -> None:
    store = _store()
    for sample in ("en_dub_ep01.srt", "zh_linesheet.csv"):
        put_script(store, SAMPLES / sample, "demo", DAY)
    first = _run("dubflow_dubbing")
    assert set(_states(first).values()) == {"success"}, _states(first)
    catalog = read_catalog(store, "demo")
    assert sorted(catalog["script_id"].unique()) == ["en_dub_ep01", "zh_linesheet"]
    manifest = json.loads(store.get_bytes("assets", "demo/en_dub_ep01/v1/manifest.json"))
    assert manifest["run_id"] == first.run_id and manifest["files"]
    assert {line["key"] for line in manifest["lines"]} <= {o.key for o in store.list("assets", "demo/en_dub_ep01/v1/")}

    again = _run("dubflow_dubbing")  # the same interval again: cached, already published
    results = [ti.xcom_pull(task_ids="voice_script", map_indexes=ti.map_index) for ti in again.get_task_instances()
               if ti.task_id == "voice_script"]  # fmt: skip
    assert len(results) == 2 and all(r["already_published"] and r["uploaded"] == 0 for r in results), results
    assert len(read_catalog(store, "demo")) == len(catalog)

    put_script(store, SAMPLES / "narration_harbour.md", "demo", DAY)
    narration = _run("dubflow_narration", script_key=f"demo/{DAY}/narration_harbour.md", profile="audiobook")
    assert set(_states(narration).values()) == {"success"}, _states(narration)
    files = {f["name"] for f in json.loads(store.get_bytes("assets", "demo/narration_harbour/v1/manifest.json"))["files"]}
    assert {"en/ch01-chapter-one-the-harbour.mp3", "qa/report.html"} <= files


def test_an_empty_interval_succeeds_quickly_and_says_so(airflow_home, s3_env) -> None:
    _store()
    run = _run("dubflow_dubbing")
    assert set(_states(run).values()) <= {"success", "skipped"}, _states(run)
    summary = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize").xcom_pull(task_ids="summarize")
    assert summary["scripts"] == 0 and "no new scripts" in summary["note"]


def test_catalog_backfill_rebuilds_lost_parts(airflow_home, s3_env, tmp_path) -> None:
    from pipeline.storage.publish import Delivery, publish
    from tests.storage.test_publish import _clips

    store = _store()
    publish(store, Delivery("acme", "ep01", _clips(tmp_path, 2), "run-1"))
    before = len(read_catalog(store, "acme"))
    part = next(o.key for o in store.list("assets", "catalog/"))
    store.client.remove_object(bucket_name=store.bucket("assets"), object_name=part)
    assert read_catalog(store, "acme").empty
    today = datetime.now(UTC).date().isoformat()
    run = _run("dubflow_catalog_backfill", since=today, until=today, project="acme")
    assert set(_states(run).values()) == {"success"}, _states(run)
    assert len(read_catalog(store, "acme")) == before


def test_voice_enrollment_checks_the_catalog(airflow_home, s3_env) -> None:
    _store()
    run = _run("dubflow_voice_enrollment")
    assert set(_states(run).values()) == {"success"}, _states(run)  # the embedded voices have no reference clips
