"""Every DAG imports cleanly, has tags, retries, owners and docs, and parsing touches no network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_dags_import_without_errors_or_network(airflow_home, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models import DagBag

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"DAG parsing opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    assert {"dubflow_dubbing", "dubflow_narration"} <= set(bag.dag_ids)
    for dag_id, dag in bag.dags.items():
        assert dag.tags and "dubflow" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        for task in dag.tasks:
            assert task.retries >= 1 and task.owner == "dubflow", (dag_id, task.task_id)
    for dag_id in ("dubflow_dubbing", "dubflow_narration"):  # the trigger form: a schema the UI renders
        params = bag.dags[dag_id].params
        assert params.get_param("profile").schema["enum"] and params.get_param("project").schema["pattern"]


BAD_CONFS = [{"profile": "loudest"}, {"project": "../etc"}, {"force": "yes"}, {"script_key": "/abs/path"}]
BAD_CONFS += [{"engine": "festival"}, {"voices": {"MAYA": "../x"}}, {"voices": {"MAYA": 3}}]


@pytest.mark.parametrize("conf", BAD_CONFS)
def test_the_trigger_form_rejects_bad_input_before_any_task_runs(airflow_home, conf: dict) -> None:
    from airflow.models import DagBag
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("dubflow_dubbing")
    params = ParamsDict({**dag.params.dump(), **conf})
    for name, param in dag.params.items():  # keep the schemas, take the submitted values
        if name in conf:
            params[name] = type(param)(conf[name], **{k: v for k, v in param.schema.items()})
    with pytest.raises(ParamValidationError):
        params.validate()


@pytest.mark.parametrize("daily_only", ["[]", '["narration"]'])
def test_each_dag_watches_the_inbox_unless_its_kind_is_daily_only(daily_only: str) -> None:
    """inbox.daily_only decides, per kind, whether a DAG also runs when the inbox watcher fires."""
    code = (
        "import dubflow_voicing as v; print(type(v.dubbing.timetable).__name__, type(v.narration.timetable).__name__)"
    )
    env = {**os.environ, "DUBFLOW_INBOX__DAILY_ONLY": daily_only, "PYTHONPATH": f"{REPO / 'plugins'}:{REPO / 'dags'}"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=REPO)
    expected = "AssetOrTimeSchedule " + ("CronTriggerTimetable" if "narration" in daily_only else "AssetOrTimeSchedule")
    assert out.stdout.split("\n")[-2] == expected, out.stdout + out.stderr
