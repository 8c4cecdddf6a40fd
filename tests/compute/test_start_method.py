"""Local Dask workers fork inside an Airflow task (spawn would re-run the airflow CLI, which refuses to start)."""

from __future__ import annotations

import pytest

from pipeline.compute.cluster import worker_start_method


def test_spawn_by_default_and_fork_inside_an_airflow_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)
    assert worker_start_method() == "spawn"
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "airflow-db-not-allowed:///")
    assert worker_start_method() == "fork"
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "dubflow_dubbing")  # left behind by dag.test() in the same process
    assert worker_start_method() == "spawn"
