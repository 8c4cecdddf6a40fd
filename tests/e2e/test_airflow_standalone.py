"""``airflow standalone`` end to end: a real scheduler, API server, DAG processor and LocalExecutor in a throwaway
AIRFLOW_HOME, driven only through the REST API, voicing scripts into the suite's S3 server.

One standalone instance serves the whole module (start ~10-20 s, ~1 GB); it is always stopped with SIGINT to its
PID (SIGTERM orphans its children), and the teardown fails if anything it started is still alive or listening.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pipeline.settings import load_settings
from pipeline.storage.catalog import read_catalog
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import REPO, SAMPLES, remove_env_buckets, s3_env_vars

BIN = Path(sys.executable).parent  # the venv's bin: standalone starts its components as plain `airflow`
AIRFLOW = BIN / "airflow"
DAG_ID = "dubflow_dubbing"
POOL = "dubflow_synthesis"
PROJECT = "demo"
TRIGGER_DAY = date(2026, 3, 2)
BACKFILL_DAYS = (date(2026, 2, 10), date(2026, 2, 11))
RUN_TIMEOUT = 8 * 60

pytestmark = [
    pytest.mark.skipif(not AIRFLOW.is_file(), reason=f"not checked: no airflow executable at {AIRFLOW}"),
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="not checked: needs POSIX signals and sessions"),
    pytest.mark.timeout(900),
]


@dataclass
class Standalone:
    url: str
    home: Path
    log: Path
    client: httpx.Client

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/api/v2{path}", **kwargs)
        assert response.is_success, f"{method} {path}: HTTP {response.status_code} {response.text[:2000]}"
        return response.json() if response.content else None

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def task_logs(self, run_id: str, lines: int = 40) -> str:
        """The errors (or the end) of each task log of one run, for failure messages."""
        folder = self.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
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


def _date(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def s3_module_env(s3_settings, local_s3_server) -> Iterator[dict[str, str]]:
    """What ``s3_env`` sets, for the whole module: the standalone instance outlives one test."""
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


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory, s3_module_env: dict[str, str]) -> Iterator[Standalone]:
    home = tmp_path_factory.mktemp("airflow-standalone")
    port, worker_logs, trigger_logs = _free_port(), _free_port(), _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(s3_module_env)
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # unpaused below: only the DAG under test runs
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
    log = home / "standalone.log"
    with log.open("wb") as out:
        # SIGINT back to default: started from a shell's background job it is ignored, and standalone would
        # then only stop by SIGKILL. A session of its own, so no terminal signal reaches it twice.
        proc = subprocess.Popen([str(AIRFLOW), "standalone"], cwd=home, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    client = httpx.Client(base_url=url, timeout=30)
    try:
        airflow = Standalone(url, home, log, client)
        _wait_healthy(airflow, proc)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        token = client.post("/auth/token", json={"username": "admin", "password": passwords["admin"]})
        assert token.status_code == 201, f"POST /auth/token: HTTP {token.status_code} {token.text}"
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        airflow.api("POST", "/pools", json={"name": POOL, "slots": 2, "description": "scripts synthesizing at once"})
        _wait_for_dag(airflow, proc)
        assert airflow.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})["is_paused"] is False
        yield airflow
    finally:
        client.close()
        _stop(proc, (port, worker_logs, trigger_logs), log)


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


def _wait_for_dag(airflow: Standalone, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"airflow standalone exited with {proc.returncode}:\n{airflow.log_tail()}"
        if airflow.client.get(f"/api/v2/dags/{DAG_ID}").status_code == 200:
            return
        time.sleep(1)
    errors = airflow.api("GET", "/importErrors")
    raise AssertionError(f"{DAG_ID} not parsed after {timeout} s; import errors: {errors}\n{airflow.log_tail()}")


def _stop(proc: subprocess.Popen[bytes], ports: tuple[int, ...], log: Path) -> None:
    """SIGINT to the PID; SIGKILL to the process group only after 60 s; then nothing may be left."""
    import psutil

    try:
        started = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        started = []
    killed = False
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
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
        problems.append("airflow standalone ignored SIGINT for 60 s and was killed")
    if described:
        problems.append("processes left after shutdown (killed now):\n" + "\n".join(described))
    if busy := [port for port in ports if _listening(port)]:
        problems.append(f"something still listens on 127.0.0.1 port(s) {busy}")
    assert not problems, "\n".join(problems) + "\n" + log.read_text(errors="replace")[-3000:]


def _task_states(airflow: Standalone, run_id: str) -> dict[str, str]:
    tis = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances")["task_instances"]
    return {f"{ti['task_id']}[{ti['map_index']}]": str(ti["state"]) for ti in tis}


def _wait_for_runs(airflow: Standalone, run_ids: list[str], timeout: float = RUN_TIMEOUT) -> None:
    """Until every run is finished; any failure or the timeout raises with the task states and logs."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {run_id: airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")["state"]
                  for run_id in run_ids}  # fmt: skip
        if all(state in ("success", "failed") for state in states.values()):
            break
        time.sleep(3)
    # A green run is not enough: `summarize` (trigger_rule all_done) is the only leaf, so a run whose
    # voice_script failed still ends "success". Every task instance must have succeeded (or been skipped).
    tasks = {run_id: _task_states(airflow, run_id) for run_id in run_ids}
    bad = [run_id for run_id in run_ids
           if states.get(run_id) != "success" or set(tasks[run_id].values()) - {"success", "skipped"}]  # fmt: skip
    details = "\n".join(f"{run_id}: {states.get(run_id)} {tasks[run_id]}\n{airflow.task_logs(run_id)}"
                        for run_id in bad)  # fmt: skip
    assert not bad, f"runs not all successful (timeout {timeout:.0f} s):\n{details}\n{airflow.log_tail(3000)}"


def _backfill(airflow: Standalone, start: date, end: date) -> list[str]:
    """Backfill [start, end] reprocessing completed runs; waits for it to finish and returns its run ids."""
    body = {"dag_id": DAG_ID, "from_date": _date(start), "to_date": _date(end), "reprocess_behavior": "completed",
            "max_active_runs": 2}  # fmt: skip
    for _ in range(20):  # SQLite: Airflow answers 503 "database is locked" while the scheduler writes; ask again
        response = airflow.client.post("/api/v2/backfills", json=body)
        if response.status_code != 503 or "locked" not in response.text:
            break
        time.sleep(3)
    assert response.is_success, f"POST /backfills: HTTP {response.status_code} {response.text[:2000]}"
    backfill = response.json()
    deadline = time.monotonic() + RUN_TIMEOUT
    params = {"logical_date_gte": _date(start), "logical_date_lte": _date(end), "order_by": "logical_date"}
    while True:
        runs = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns", params=params)["dag_runs"]
        ours = [run for run in runs if run["run_type"] == "backfill"]
        done = airflow.api("GET", f"/backfills/{backfill['id']}")["completed_at"] is not None
        if done or time.monotonic() > deadline:
            break
        time.sleep(3)
    run_ids = [run["dag_run_id"] for run in ours]
    _wait_for_runs(airflow, run_ids, timeout=max(deadline - time.monotonic(), 1))
    return run_ids


def _assets(store: ObjectStore) -> set[tuple[str, str, str | None]]:
    return {(obj.key, obj.etag, obj.version_id) for obj in store.list("assets")}


def test_a_triggered_run_voices_the_named_script_and_publishes_it(standalone: Standalone, store: ObjectStore) -> None:
    key = put_script(store, SAMPLES / "en_dub_ep01.srt", PROJECT, TRIGGER_DAY).key
    run_id = f"e2e-trigger-{uuid.uuid4().hex[:8]}"
    run = standalone.api("POST", f"/dags/{DAG_ID}/dagRuns", json={
        "dag_run_id": run_id, "logical_date": _date(TRIGGER_DAY), "conf": {"project": PROJECT, "script_key": key},
    })  # fmt: skip
    assert run["state"] in ("queued", "running") and run["conf"]["script_key"] == key, run
    _wait_for_runs(standalone, [run_id])

    states = _task_states(standalone, run_id)
    assert states == {"discover[-1]": "success", "voice_script[0]": "success", "summarize[-1]": "success",
                      "all_scripts_voiced[-1]": "success"}, states
    manifest = json.loads(store.get_bytes("assets", f"{PROJECT}/en_dub_ep01/v1/manifest.json"))
    assert manifest["run_id"] == run_id and manifest["files"]
    catalog = read_catalog(store, PROJECT)
    assert len(catalog) > 0 and set(catalog["script_id"]) == {"en_dub_ep01"}
    assert set(catalog["version"]) == {1} and set(catalog["run_id"]) == {run_id}, catalog[["version", "run_id"]]


def test_a_backfill_publishes_each_day_and_a_second_backfill_uploads_nothing(
    standalone: Standalone, store: ObjectStore, tmp_path: Path
) -> None:
    cues = (SAMPLES / "en_dub_ep01.srt").read_text(encoding="utf-8").strip().split("\n\n")
    names = []
    for n, day in enumerate(BACKFILL_DAYS):  # two short episodes, one arriving on each day
        script = tmp_path / f"backfill_ep{n + 2:02d}.srt"
        script.write_text("\n\n".join(cues[n * 3 : n * 3 + 3]) + "\n", encoding="utf-8")
        put_script(store, script, PROJECT, day)
        names.append(script.stem)
    before = read_catalog(store, PROJECT)

    first = _backfill(standalone, *BACKFILL_DAYS)
    assert len(first) == 2, first
    catalog = read_catalog(store, PROJECT)
    new = catalog[~catalog["script_id"].isin(before["script_id"].unique())]
    assert sorted(new["script_id"].unique()) == sorted(names), catalog[["script_id", "version"]].drop_duplicates()
    for name in names:
        manifest = json.loads(store.get_bytes("assets", f"{PROJECT}/{name}/v1/manifest.json"))
        assert manifest["run_id"] in first and manifest["files"], manifest.get("run_id")
    published = _assets(store)

    second = _backfill(standalone, *BACKFILL_DAYS)  # the same intervals again: cleared and re-run
    assert sorted(second) == sorted(first)
    again = read_catalog(store, PROJECT)
    assert len(again) == len(catalog) and set(again["version"]) == {1}, again[["script_id", "version"]]
    for name in names:
        assert not list(store.list("assets", f"{PROJECT}/{name}/v2/")), f"{name}: a second version was published"
    assert _assets(store) == published, "the second backfill wrote to the assets bucket"
