"""Every DAG imports cleanly, has tags, retries, owners and docs, and parsing touches no network."""

from __future__ import annotations

import socket

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
        assert "project" in dag.params and dag.params.get_param("profile").schema["enum"], dag_id
