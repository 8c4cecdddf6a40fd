"""One ``airflow standalone`` for every e2e module: a real scheduler, API server, DAG processor and LocalExecutor
in a throwaway AIRFLOW_HOME, voicing scripts into the suite's S3 server.

It starts once per package (~10-20 s, ~1 GB) through the supervisor ``make airflow`` uses
(``dubflow_airflow.standalone``), and is stopped with SIGTERM to the supervisor, as ``kill`` or a process manager
would (bare standalone orphans its children on SIGTERM); the teardown fails if anything it started is still alive or
listening.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from dubflow_airflow.postgres import LocalPostgres

from pipeline.settings import load_settings
from pipeline.storage.store import ObjectStore
from tests.conftest import REPO, remove_env_buckets, s3_env_vars

BIN = Path(sys.executable).parent  # the venv's bin: standalone starts its components as plain `airflow`
AIRFLOW = BIN / "airflow"
POOL = "dubflow_synthesis"
PROJECT = "demo"
RUN_TIMEOUT = 8 * 60
GRACE = 30  # seconds the supervisor gives standalone to stop on SIGINT (its default)
UNPAUSED = ("dubflow_dubbing", "dubflow_on_new_assets")  # every other DAG stays paused: only these run


@dataclass
class Standalone:
    url: str
    home: Path
    log: Path
    client: httpx.Client
    admin_password: str = ""
    pid: int = 0  # the `airflow standalone` process: tests find the processes it started under it (psutil)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/api/v2{path}", **kwargs)
        assert response.is_success, f"{method} {path}: HTTP {response.status_code} {response.text[:2000]}"
        return response.json() if response.content else None

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any], logical_date: str | None = None) -> dict:
        """POST a run (once: on Postgres there is no "database is locked" to wait out, as there was on SQLite)."""
        body = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf}
        response = self.client.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        assert response.is_success, f"POST dagRuns: HTTP {response.status_code} {response.text[:2000]}"
        return response.json()

    def assert_scheduler_alive(self) -> None:
        """Fail now, with the scheduler's last words, when its heartbeat has stopped: waiting out a run timeout
        would only hide why nothing runs (e.g. an Airflow crash on SQLite)."""
        health = self.client.get("/api/v2/monitor/health", timeout=10).json().get("scheduler") or {}
        beat = health.get("latest_scheduler_heartbeat")
        if health.get("status") == "healthy" or not beat:
            return
        age = (datetime.now(UTC) - datetime.fromisoformat(beat)).total_seconds()
        tail = "\n".join(line for line in self.log_tail(200_000).splitlines() if line.startswith("scheduler"))
        assert age < 90, f"the scheduler stopped {age:.0f} s ago:\n{tail[-5000:]}"

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def task_logs(self, dag_id: str, run_id: str, lines: int = 40) -> str:
        """The errors (or the end) of each task log of one run, for failure messages."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        parts = []
        for path in sorted(folder.rglob("*.log")):
            events = []
            for line in path.read_text(errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    events.append(line)
                    continue
                if record.get("level") in ("error", "critical"):
                    events.append(str(record.get("event"))[:500])
            if events:
                parts.append(f"--- {path.relative_to(folder)}\n" + "\n".join(events[-lines:]))
        return "\n".join(parts)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances")["task_instances"]
        return {f"{ti['task_id']}[{ti['map_index']}]": str(ti["state"]) for ti in tis}

    def wait_for_runs(self, dag_id: str, run_ids: list[str], timeout: float = RUN_TIMEOUT,
                      expect: str = "success") -> dict[str, str]:  # fmt: skip
        """Until every run is finished. With ``expect="success"`` any failure or the timeout raises with the task
        states and logs; otherwise returns the final states."""
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {run_id: self.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")["state"]
                      for run_id in run_ids}  # fmt: skip
            if all(state in ("success", "failed") for state in states.values()):
                break
            self.assert_scheduler_alive()
            time.sleep(1)
        if expect != "success":
            return states
        # A green run is not enough: every task instance must have succeeded (or been skipped).
        tasks = {run_id: self.task_states(dag_id, run_id) for run_id in run_ids}
        bad = [run_id for run_id in run_ids
               if states.get(run_id) != "success" or set(tasks[run_id].values()) - {"success", "skipped"}]  # fmt: skip
        details = "\n".join(f"{run_id}: {states.get(run_id)} {tasks[run_id]}\n{self.task_logs(dag_id, run_id)}"
                            for run_id in bad)  # fmt: skip
        assert not bad, f"runs not all successful (timeout {timeout:.0f} s):\n{details}\n{self.log_tail(3000)}"
        return states


def iso(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="package")
def s3_module_env(s3_settings, local_s3_server) -> Iterator[dict[str, str]]:
    """What ``s3_env`` sets, for the whole package: the standalone instance outlives one test."""
    env = s3_env_vars(s3_settings)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield env
    if local_s3_server is None:  # be polite to a shared server; the local one is thrown away
        remove_env_buckets(s3_settings, env)


@pytest.fixture
def store(s3_module_env: dict[str, str]) -> ObjectStore:
    """The store the DAG's tasks see: the settings the workers load, pointed at the suite's server by the env."""
    store = ObjectStore.from_settings(load_settings().storage)
    assert store.bucket("inbox").startswith(s3_module_env["DUBFLOW_S3_BUCKET_PREFIX"])
    store.ensure_buckets()
    return store


@pytest.fixture(scope="package")
def standalone(tmp_path_factory: pytest.TempPathFactory, s3_module_env: dict[str, str]) -> Iterator[Standalone]:
    if not AIRFLOW.is_file():
        pytest.skip(f"not checked: no airflow executable at {AIRFLOW}")
    home = tmp_path_factory.mktemp("airflow-standalone")
    # Airflow's metadata on PostgreSQL, as in production; outside pytest's 0700 folders, which the unprivileged
    # user the server runs as under root cannot enter.
    database = LocalPostgres(Path(tempfile.mkdtemp(prefix="dubflow-pg-")))
    port, worker_logs, trigger_logs = _free_port(), _free_port(), _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(s3_module_env)
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database.start(),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DUBFLOW__RETRY_DELAY_SECONDS": "2",  # a killed task is retried at once (20 s by default)
        "DUBFLOW_INBOX__POLL_SECONDS": "5",  # the inbox watcher's poll (inbox.poll_seconds: 60 s by default)
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # unpaused below: only the DAGs under test run
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        # The scheduler's and triggerer's log servers listen on all interfaces (not configurable): at least
        # keep them off the default 8793/8794, which a developer's own Airflow may hold.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_logs),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_logs),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    })  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "plugins"), env.get("PYTHONPATH")]))
    log = home / "standalone.log"
    with log.open("wb") as out:
        # A session of its own, so no terminal signal reaches it twice.
        proc = subprocess.Popen([sys.executable, "-m", "dubflow_airflow.standalone", "--grace", str(GRACE)], cwd=home, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    client = httpx.Client(base_url=url, timeout=30)
    try:
        airflow = Standalone(url, home, log, client, pid=proc.pid)
        _wait_healthy(airflow, proc)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        airflow.admin_password = passwords["admin"]
        token = client.post("/auth/token", json={"username": "admin", "password": passwords["admin"]})
        assert token.status_code == 201, f"POST /auth/token: HTTP {token.status_code} {token.text}"
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        airflow.api("POST", "/pools", json={"name": POOL, "slots": 2, "description": "scripts synthesizing at once"})
        for dag_id in UNPAUSED:
            _wait_for_dag(airflow, proc, dag_id)
            assert airflow.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})["is_paused"] is False
        yield airflow
    finally:
        client.close()
        try:
            _stop(proc, (port, worker_logs, trigger_logs), log)
        finally:
            database.stop()
            assert database.pid is None, f"postgres in {database.root} outlived its stop"
            shutil.rmtree(database.root, ignore_errors=True)


def _wait_healthy(airflow: Standalone, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    health: Any = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"airflow standalone exited with {proc.returncode}:\n{airflow.log_tail()}"
        try:
            health = airflow.client.get("/api/v2/monitor/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            health = None
        components = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        if health and all((health.get(name) or {}).get("status") == "healthy" for name in components):
            return
        time.sleep(1)
    raise AssertionError(f"airflow standalone not healthy after {timeout} s: {health}\n{airflow.log_tail()}")


def _wait_for_dag(airflow: Standalone, proc: subprocess.Popen[bytes], dag_id: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"airflow standalone exited with {proc.returncode}:\n{airflow.log_tail()}"
        if airflow.client.get(f"/api/v2/dags/{dag_id}").status_code == 200:
            return
        time.sleep(1)
    errors = airflow.api("GET", "/importErrors")
    raise AssertionError(f"{dag_id} not parsed after {timeout} s; import errors: {errors}\n{airflow.log_tail()}")


def _stop(proc: subprocess.Popen[bytes], ports: tuple[int, ...], log: Path) -> None:
    """SIGTERM to the supervisor; SIGKILL to the process group only after 60 s; then nothing may be left. Standalone
    stops its components in a few seconds (6-10 s here, beside the main suite): a stop that lasts the supervisor's
    whole grace period is a failure (it once waited that out on every stop, although Airflow had long stopped;
    tests/plugins/test_standalone.py pins the supervisor itself in seconds)."""
    import psutil

    try:
        started = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        started = []
    killed, stopping = False, time.monotonic()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            killed = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def leftovers() -> list[psutil.Process]:
        alive = [p for p in started if p.pid != proc.pid and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        for p in psutil.process_iter():
            try:
                if p.pid != proc.pid and os.getpgid(p.pid) == proc.pid and p not in alive:
                    alive.append(p)
            except (ProcessLookupError, psutil.Error):
                continue
        return alive

    took = time.monotonic() - stopping
    deadline = time.monotonic() + 20
    while (left := leftovers()) and time.monotonic() < deadline:
        time.sleep(0.5)
    described = []
    for p in left:  # ours: started by this fixture; kill them so the machine is clean, then fail
        try:
            described.append(f"{p.pid} {' '.join(p.cmdline())[:200]}")
            p.kill()
        except psutil.Error:
            continue
    problems = []
    if killed:
        problems.append("airflow standalone (supervised) ignored SIGTERM for 60 s and was killed")
    elif took >= GRACE:
        problems.append(f"airflow standalone (supervised) took {took:.0f} s to stop: its whole grace of {GRACE} s")
    if described:
        problems.append("processes left after shutdown (killed now):\n" + "\n".join(described))
    if busy := [port for port in ports if _listening(port)]:
        problems.append(f"something still listens on 127.0.0.1 port(s) {busy}")
    assert not problems, "\n".join(problems) + "\n" + log.read_text(errors="replace")[-3000:]
