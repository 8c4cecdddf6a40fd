"""The voicing DAGs' wiring: each schedule voices only its kind of script, the ``retake`` param is checked, and a
retake without a script key fails in ``discover`` (``dag.test()`` on the embedded defaults, dry runs)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.settings import load_settings
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import REPO, SAMPLES

DAY = date(2026, 11, 21)


def _dag(dag_id: str):
    from airflow.models import DagBag

    return DagBag(dag_folder=str(REPO / "dags")).get_dag(dag_id)


def _run(dag_id: str, **conf: object):
    return _dag(dag_id).test(logical_date=datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC), run_conf=conf)


def _states(run) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}


def test_each_voicing_dag_voices_only_its_kind_of_script(airflow_home, s3_env, on_suite_cluster) -> None:
    store = ObjectStore.from_settings(load_settings().storage)
    store.ensure_buckets()
    for sample in ("en_dub_ep01.srt", "narration_harbour.md"):
        put_script(store, SAMPLES / sample, "demo", DAY)
    for dag_id, expected in (("dubflow_dubbing", "en_dub_ep01.srt"), ("dubflow_narration", "narration_harbour.md")):
        run = _run(dag_id, dry_run=True)
        assert set(_states(run).values()) == {"success"}, _states(run)
        discover = next(ti for ti in run.get_task_instances() if ti.task_id == "discover")
        discovered = discover.xcom_pull(task_ids="discover")
        assert [item["name"] for item in discovered] == [expected], dag_id


def test_a_retake_without_a_script_key_fails_in_discover(airflow_home, s3_env) -> None:
    ObjectStore.from_settings(load_settings().storage).ensure_buckets()
    run = _run("dubflow_dubbing", retake={"en_dub_ep01-0003": {"take": 1, "note": "flat", "reviewer": "ann"}})
    states = _states(run)
    assert states["discover[-1]"] == "failed" and states["summarize[-1]"] != "success", states


def test_the_retake_param_accepts_the_review_pages_conf_and_nothing_else(airflow_home) -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    param = _dag("dubflow_narration").params.get_param("retake")
    good = {"en_dub_ep01-0003": {"take": 2, "note": "too fast", "reviewer": "ann", "from_version": 3}}
    good["L0123456789ab"] = {"take": 1, "from_version": None}
    assert param.resolve(good) == good and param.resolve({}) == {}
    bad = [
        {"en_dub_ep01-0003": {"note": "no take"}},
        {"en_dub_ep01-0003": {"take": 0}},
        {"en_dub_ep01-0003": {"take": 100}},
        {"en_dub_ep01-0003": {"take": "1"}},
        {"en_dub_ep01-0003": {"take": 1, "note": "x" * 1001}},
        {"en_dub_ep01-0003": {"take": 1, "Take": 2}},
        {"../etc/passwd": {"take": 1}},
        {"a..b": {"take": 1}},
        {"-leading": {"take": 1}},
    ]
    for value in bad:
        with pytest.raises(ParamValidationError):
            param.resolve(value)
