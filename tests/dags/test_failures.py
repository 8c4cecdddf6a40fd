"""``dag.test()`` of a day with one good and one broken script: the good one must still be published, the broken
one must fail its own mapped instance at once (a malformed script is not a transient error: no retries), and the
run must end failed so somebody looks.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pipeline.settings import load_settings
from pipeline.storage.asset_catalog import read_catalog
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import FIXTURES, REPO, SAMPLES

DAY = date(2026, 11, 21)  # not the day test_dag_runs uses: dag.test() clears the task instances of its date
PROJECT = "demo"
BROKEN = FIXTURES / "malformed" / "bad_timing.srt"  # cue 2 has the timecode "00:00:0x,000", line 6 of the file

pytestmark = [pytest.mark.timeout(600)]


def _dubbing_dag() -> Any:
    from airflow.models import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("dubflow_dubbing")
    assert dag is not None
    return dag


def test_a_broken_script_fails_its_instance_at_once_and_the_run_while_the_good_one_is_published(
    airflow_home: Any, s3_env: dict[str, str], capfd: pytest.CaptureFixture[str], on_suite_cluster: None
) -> None:
    store = ObjectStore.from_settings(load_settings().storage)
    store.ensure_buckets()
    good = put_script(store, SAMPLES / "en_dub_ep01.srt", PROJECT, DAY).key
    broken = put_script(store, BROKEN, PROJECT, DAY).key

    dag = _dubbing_dag()
    assert dag.get_task("voice_script").retries >= 1, "retries are what a broken script must not wait through"

    run = dag.test(logical_date=datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC))
    output = capfd.readouterr()

    tis = {(ti.task_id, ti.map_index): ti for ti in run.get_task_instances()}
    states = {f"{task_id}[{index}]": str(ti.state) for (task_id, index), ti in tis.items()}
    discovered = tis[("discover", -1)].xcom_pull(task_ids="discover")
    by_key = {item["script_key"]: n for n, item in enumerate(discovered)}
    assert set(by_key) == {good, broken}, discovered
    good_ti, broken_ti = tis[("voice_script", by_key[good])], tis[("voice_script", by_key[broken])]

    assert str(good_ti.state) == "success", states
    assert str(broken_ti.state) == "failed", states
    assert broken_ti.try_number == 1, f"a broken script was retried: {broken_ti.try_number} tries"
    assert good_ti.try_number == 1, "the good script needed a retry"
    assert str(tis[("summarize", -1)].state) == "success", states
    assert str(tis[("all_scripts_voiced", -1)].state) != "success", states
    assert str(run.state) == "failed", states

    summary = tis[("summarize", -1)].xcom_pull(task_ids="summarize")
    assert (summary["scripts"], summary["voiced"], summary["failed"], summary["published"]) == (2, 1, 1, 1), summary

    manifest = json.loads(store.get_bytes("assets", f"{PROJECT}/en_dub_ep01/v1/manifest.json"))
    assert manifest["run_id"] == run.run_id, manifest.get("run_id")
    published = {line["line_id"] for line in manifest["lines"]}
    # Every line of the good script is accounted for: published, or quarantined by QA with its reasons.
    assert len(published) + len(manifest["source"]["quarantined"]) == 6 and published, manifest["source"]
    catalog = read_catalog(store, PROJECT)
    assert set(catalog["script_id"]) == {"en_dub_ep01"}, catalog[["script_id", "line_id"]]
    assert set(catalog["line_id"]) == published and len(catalog) == len(published), catalog[["line_id", "version"]]
    assert not list(store.list("assets", f"{PROJECT}/bad_timing/")), "the broken script published something"

    # The failure names the file, the line of the file and what is wrong with it (the task's exception, logged).
    logged = output.out + output.err
    assert "bad_timing.srt:6: error: malformed cue timing line: '00:00:0x,000 --> 00:00:08,000'" in logged, logged[
        -3000:
    ]
    # And the Review tab reads it from the failed instance's `failure` XCom (Airflow keeps errors only in logs).
    failure = broken_ti.xcom_pull(task_ids="voice_script", map_indexes=by_key[broken], key="failure")
    assert "bad_timing.srt:6: error: malformed cue timing line" in failure, failure
    assert good_ti.xcom_pull(task_ids="voice_script", map_indexes=by_key[good], key="failure") is None


def test_a_mistyped_script_key_fails_the_run_in_seconds_and_records_why(
    airflow_home: Any, s3_env: dict[str, str]
) -> None:
    """discover fails at once (no retry: a wrong key stays wrong), summarize is skipped instead of crashing on the
    missing list and being retried with backoff, and the run is failed within seconds of the cause."""
    import time

    store = ObjectStore.from_settings(load_settings().storage)
    store.ensure_buckets()
    key = f"{PROJECT}/{DAY}/no_such_script.srt"
    started = time.monotonic()
    run = _dubbing_dag().test(logical_date=datetime(DAY.year, DAY.month, DAY.day, 6, tzinfo=UTC),
                              run_conf={"project": PROJECT, "script_key": key})  # fmt: skip
    took = time.monotonic() - started
    states = {f"{ti.task_id}[{ti.map_index}]": (str(ti.state), ti.try_number) for ti in run.get_task_instances()}
    assert states["discover[-1]"] == ("failed", 1), states
    assert states["summarize[-1]"][0] == "skipped" and states["summarize[-1]"][1] <= 1, states
    assert str(run.state) == "failed" and took < 60, (took, states)
    discover = next(ti for ti in run.get_task_instances() if ti.task_id == "discover")
    failure = discover.xcom_pull(task_ids="discover", key="failure")
    assert f"script {key!r} is not in the inbox of project 'demo'" in failure, failure
