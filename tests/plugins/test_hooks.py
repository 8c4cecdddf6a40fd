"""The connection types: Airflow discovers them from the installed package, and their Test button reaches the real
S3 server and a real Dask scheduler (what the API's connection test calls: ``Connection.test_connection``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.storage.store import ObjectStore, resolve_connection
from tests.conftest import remove_buckets


@pytest.fixture
def airflow(airflow_home: Path) -> Iterator[None]:
    yield


def _connection(conn_type: str, **fields: object):
    from airflow.models.connection import Connection

    extra = fields.pop("extra", None)
    return Connection(conn_id=f"t_{conn_type}", conn_type=conn_type, extra=extra and json.dumps(extra), **fields)


def test_airflow_finds_both_connection_types_with_their_forms(airflow: None) -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "dubflow" in manager.providers
    for conn_type in ("dubflow_s3", "dubflow_dask"):
        hook = manager.hooks[conn_type]
        assert hook is not None and hook.connection_testable, conn_type
    assert manager.field_behaviours["dubflow_s3"]["relabeling"]["login"] == "Access key"
    assert "extra__dubflow_s3__bucket_prefix" in manager.connection_form_widgets


def test_the_s3_test_button_checks_the_server_keys_and_buckets(
    airflow: None, s3_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = resolve_connection(s3_settings)
    store = ObjectStore(connection, s3_settings.model_copy(update={"bucket_prefix": "hooktest-"}))
    store.ensure_buckets()
    try:
        fields = {"host": connection.url, "login": connection.access_key, "password": connection.secret_key}
        conn = _connection("dubflow_s3", **fields, extra={"bucket_prefix": "hooktest-"})
        monkeypatch.setenv("AIRFLOW_CONN_T_DUBFLOW_S3", conn.as_json())
        ok, message = conn.test_connection()
        assert ok and "buckets exist" in message, message
        absent = _connection("dubflow_s3", **fields, extra={"bucket_prefix": "nobody-made-these-"})
        monkeypatch.setenv("AIRFLOW_CONN_T_DUBFLOW_S3", absent.as_json())
        ok, message = absent.test_connection()
        assert not ok and "nobody-made-these-assets" in message, message
        wrong = _connection(
            "dubflow_s3", **{**fields, "password": "not-the-secret"}, extra={"bucket_prefix": "hooktest-"}
        )
        monkeypatch.setenv("AIRFLOW_CONN_T_DUBFLOW_S3", wrong.as_json())
        ok, message = wrong.test_connection()
        assert not ok and message, message
    finally:
        remove_buckets(store)


def test_the_dask_test_button_counts_the_schedulers_workers(airflow: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        host, port = cluster.scheduler_address.removeprefix("tcp://").rsplit(":", 1)
        conn = _connection("dubflow_dask", host=host, port=int(port))
        monkeypatch.setenv("AIRFLOW_CONN_T_DUBFLOW_DASK", conn.as_json())
        ok, message = conn.test_connection()
        assert ok and "1 worker(s), 0 with a GPU" in message, message
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    conn = _connection("dubflow_dask", host="127.0.0.1", port=free)
    monkeypatch.setenv("AIRFLOW_CONN_T_DUBFLOW_DASK", conn.as_json())
    ok, message = conn.test_connection()
    assert not ok and message, message


def test_local_workers_fork_only_inside_a_task_runner(airflow: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from dubflow_airflow.hooks import pipeline_settings

    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "dubflow_dubbing")  # left behind by dag.test(): not a task runner
    assert pipeline_settings().dask.start_method == "spawn"
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "airflow-db-not-allowed:///")
    assert pipeline_settings().dask.start_method == "fork"
