"""``dag.test()`` on the embedded defaults: the suite's S3 server, a real LocalCluster, real engines. Both voicing
DAGs on the samples, and their re-run uploading nothing, are what ``make demo`` does: tests/dags/test_demo.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pipeline.settings import load_settings
from pipeline.storage.asset_catalog import read_catalog
from pipeline.storage.store import ObjectStore

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


def test_voice_enrollment_enrolls_new_voices_and_keeps_current_ones(airflow_home, s3_env) -> None:
    """The DAG on the shipped catalog: a human recording (upstream's prompt, with its transcript) and a CPU voice
    speaking its own reference are stored with their checks; run again, both are kept; an unknown voice fails."""
    from pipeline.enrollment.record import enrollments

    store = _store()
    run = _run("dubflow_voice_enrollment", voices=["zh-clone", "en-espeak"])
    assert set(_states(run).values()) == {"success"}, _states(run)
    result = next(ti for ti in run.get_task_instances() if ti.task_id == "enroll").xcom_pull(task_ids="enroll")
    assert sorted(result["enrolled"]) == ["en-espeak", "zh-clone"] and result["failed"] == {}
    assert result["enrolled"]["zh-clone"]["transcript"] == "希望你以后能够做的比我还好呦。"
    assert sorted(enrollments(store)) == ["en-espeak", "zh-clone"]
    again = _run("dubflow_voice_enrollment", voices=["zh-clone", "en-espeak"])
    kept = next(ti for ti in again.get_task_instances() if ti.task_id == "enroll").xcom_pull(task_ids="enroll")
    assert kept["kept"] == ["en-espeak", "zh-clone"] and kept["enrolled"] == {}
    unknown = _run("dubflow_voice_enrollment", voices=["nobody"])
    assert _states(unknown) == {"enroll[-1]": "failed"}
