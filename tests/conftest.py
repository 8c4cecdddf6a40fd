"""Shared fixtures: default settings, a writer for script files, and a real S3 server for the session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.settings import IngestSettings, LocalServerSettings, RetrySettings, Settings, StorageSettings
from pipeline.storage.local_server import LocalS3Server
from pipeline.storage.store import ObjectStore, resolve_connection

# tests/upstream runs in its own environment (upstream CosyVoice on torch 2.9: `make test-upstream`).
collect_ignore = [] if os.environ.get("DUBFLOW_UPSTREAM_TESTS") else ["upstream"]

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
SAMPLES = REPO / "samples"


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """The suite's one real two-worker LocalCluster: the fan-out tests' client, and (through ``on_suite_cluster``)
    the cluster the CLI and ``dag.test()`` runs voice on, so its workers load the engines and QA models once."""
    from distributed import Client, LocalCluster

    from pipeline.compute.cluster import PARENT_WATCH

    # The parent watch: a suite killed mid-run (a CI timeout) must not leave its workers behind.
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", memory_limit="4GiB", silence_logs=40,
                           preload=[PARENT_WATCH])  # fmt: skip
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def suite_cluster_env(client: Any) -> dict[str, str]:
    """Settings loaded with these variables voice on the suite's cluster (``dask.mode: external``)."""
    address = client.scheduler_info()["address"]
    return {"DUBFLOW_DASK__MODE": "external", "DUBFLOW_DASK__EXTERNAL__SCHEDULER_ADDRESS": address,
            "DUBFLOW_DASK__ENGINE_THREADS": "1"}  # fmt: skip


@pytest.fixture
def on_suite_cluster(dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's runs voice on the suite's cluster instead of starting a LocalCluster of their own: for tests of
    what a run does, not of how a cluster starts (``make demo``, ``dubflow demo``, tests/compute/test_cluster.py
    and the e2e tests start their own)."""
    for key, value in suite_cluster_env(dask_client).items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def ingest_settings() -> IngestSettings:
    return Settings().ingest


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write


# -- object storage: one real S3 server for the session --------------------------------------------------------
# The embedded SeaweedFS server on free loopback ports, or any S3 server (MinIO) when DUBFLOW_S3_ENDPOINT is set:
#   DUBFLOW_S3_ENDPOINT=127.0.0.1:9000 DUBFLOW_S3_ACCESS_KEY=… DUBFLOW_S3_SECRET_KEY=… make test
# Every test gets its own bucket prefix, so tests never see each other's objects.


@pytest.fixture(scope="session")
def local_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3Server | None]:
    """The suite's own local server, or None when the tests run against an external one."""
    if os.environ.get("DUBFLOW_S3_ENDPOINT"):
        yield None
        return
    server = LocalS3Server(tmp_path_factory.mktemp("s3"), s3_port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_settings(local_s3_server: LocalS3Server | None) -> StorageSettings:
    """Storage settings for the suite's server, with short retry waits so failure tests stay quick."""
    fast = RetrySettings(attempts=4, initial_wait=0.05, max_wait=0.5)
    if local_s3_server is None:
        return Settings().storage.model_copy(update={"retry": fast})
    return StorageSettings(local=LocalServerSettings(data_dir=local_s3_server.data_dir, s3_port=0), retry=fast)


@pytest.fixture
def s3_env(
    s3_settings: StorageSettings, local_s3_server: LocalS3Server | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """DUBFLOW_S3_* variables pointing at the suite's server with a fresh bucket prefix (for the CLI and demo)."""
    env = s3_env_vars(s3_settings)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    if local_s3_server is None:  # be polite to a shared server; the local one is thrown away
        remove_env_buckets(s3_settings, env)


def s3_env_vars(s3_settings: StorageSettings) -> dict[str, str]:
    """DUBFLOW_S3_* for the suite's server with a fresh bucket prefix."""
    connection = resolve_connection(s3_settings)
    return {
        "DUBFLOW_S3_ENDPOINT": connection.url,
        "DUBFLOW_S3_ACCESS_KEY": connection.access_key,
        "DUBFLOW_S3_SECRET_KEY": connection.secret_key,
        "DUBFLOW_S3_BUCKET_PREFIX": f"t{uuid.uuid4().hex[:10]}-",
    }


def remove_env_buckets(s3_settings: StorageSettings, env: dict[str, str]) -> None:
    store = ObjectStore(
        resolve_connection(s3_settings),
        s3_settings.model_copy(update={"bucket_prefix": env["DUBFLOW_S3_BUCKET_PREFIX"]}),
    )
    remove_buckets(store)


@pytest.fixture
def store(s3_settings: StorageSettings) -> Iterator[ObjectStore]:
    """A store on the suite's server with this test's own, freshly created buckets."""
    settings = s3_settings.model_copy(update={"bucket_prefix": f"t{uuid.uuid4().hex[:10]}-"})
    store = ObjectStore.from_settings(settings)
    store.ensure_buckets()
    yield store
    if os.environ.get("DUBFLOW_S3_ENDPOINT"):  # be polite to a shared server; the local one is thrown away
        remove_buckets(store)


def remove_buckets(store: ObjectStore) -> None:
    """Test clean-up only: delete every object version and the buckets (the library never deletes assets)."""
    from minio.deleteobjects import DeleteObject

    for role in ("inbox", "staging", "assets"):
        bucket = store.bucket(role)
        if not store.client.bucket_exists(bucket_name=bucket):
            continue
        objects = store.client.list_objects(bucket_name=bucket, recursive=True, include_version=True)
        victims = [DeleteObject(o.object_name, o.version_id) for o in objects]
        for error in store.client.remove_objects(bucket_name=bucket, delete_object_list=victims):
            raise AssertionError(f"clean-up of {bucket}: {error}")
        store.client.remove_bucket(bucket_name=bucket)


# -- real speech, synthesized once per session (audio and QA tests) --------------------------------------------
SPEECH_TEXT = "The harbour lights came on, one by one, as the ferry turned for home."


@pytest.fixture(scope="session")
def speech() -> tuple[np.ndarray, int]:
    """A Piper line (deterministic: seeded)."""
    from pipeline.engines.registry import EngineRegistry
    from tests.engines.conftest import request

    result = EngineRegistry(Settings().engines).get("piper").synthesize(request(SPEECH_TEXT, "en", seed=3))
    return result.samples, result.sample_rate


@pytest.fixture(scope="session")
def other_voice() -> tuple[np.ndarray, int]:
    """The same words in another voice (espeak-ng)."""
    from pipeline.engines.registry import EngineRegistry
    from tests.engines.conftest import request

    result = EngineRegistry(Settings().engines).get("espeak").synthesize(request(SPEECH_TEXT, "en"))
    return result.samples, result.sample_rate


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("airflow")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # dag.test() runs every task in this one process: SQLite serves it without a server to start (2.9 s to
        # migrate against 1.0 s + 3.5 s for a fresh Postgres). `make airflow`, `make demo` and tests/e2e run Postgres.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    if str(REPO / "plugins") not in sys.path:
        sys.path.insert(0, str(REPO / "plugins"))
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=300)
    subprocess.run([str(airflow), "pools", "set", "dubflow_synthesis", "2", "scripts synthesizing at once"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def postgres_dir() -> Iterator[Path]:
    """A folder for a ``LocalPostgres`` outside pytest's 0700 folders: under root the server runs as an unprivileged
    user, who must be able to enter it. Whatever server is left in it is stopped by PID."""
    from dubflow_airflow.postgres import LocalPostgres

    folder = Path(tempfile.mkdtemp(prefix="dubflow-pg-"))
    try:
        yield folder
    finally:
        LocalPostgres(folder).stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, driven by Playwright (which never downloads a browser of its own here). `make test`
    installs it where it can (root); elsewhere a missing browser is "not checked", and under CI a failure."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        message = "no chromium on this machine (apt-get install chromium; `make test` does it as root)"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(f"CI must run the browser tests: {message}")
        pytest.skip(f"not checked: {message}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


SCREENSHOTS = Path(os.environ.get("DUBFLOW_SCREENSHOTS") or REPO / "build" / "screenshots")


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot in build/screenshots/ (or $DUBFLOW_SCREENSHOTS), to be looked at by a person; a blank
    page (a few KB of one colour) fails here."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 20_000, f"{path}: {path.stat().st_size} bytes, a blank page?"
    return path
