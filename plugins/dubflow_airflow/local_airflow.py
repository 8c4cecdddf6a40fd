"""The local Airflow of ``make airflow`` and ``make demo``: one environment, one Postgres, one pool.

Both run on the same metadata database (a ``LocalPostgres`` in ``var/postgres``), so the demo's ``dag.test()`` runs
are the UI's runs. Must run before anything imports ``airflow``: its settings are read once, at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dubflow_airflow.postgres import LocalPostgres

REPO = Path(__file__).resolve().parents[2]
POOL = ("dubflow_synthesis", "2", "scripts synthesizing at once")


def airflow_env(home: Path, port: int, database: str) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Voicing DAGs are meant to run (the daily safety net and the inbox watcher); paused, Airflow's trigger dialog
        # ticks "Unpause on trigger" (no setting changes that), and a hand trigger would start the schedule too.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the Test button of the dubflow connection types
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
    }


def prepare(home: Path, port: int, postgres: Path) -> LocalPostgres:
    """Start (or find running) the Postgres in ``postgres``, point this process at it, migrate, create the pool."""
    if "airflow" in sys.modules:
        raise RuntimeError("prepare() must run before airflow is imported")
    home.mkdir(parents=True, exist_ok=True)
    server = LocalPostgres(postgres)
    os.environ.update(airflow_env(home, port, server.start()))
    if str(REPO / "plugins") not in sys.path:
        sys.path.insert(0, str(REPO / "plugins"))
    airflow = Path(sys.executable).with_name("airflow")
    for argv in (["db", "migrate"], ["pools", "set", *POOL]):
        done = subprocess.run([str(airflow), *argv], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            server.stop_if_started()
            raise RuntimeError(f"airflow {' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return server
