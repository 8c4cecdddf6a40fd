"""Settings from Airflow connections: ``minio_default`` (the object store) and ``dask_default`` (the scheduler).

Either may be absent: then the embedded defaults apply (the local S3 server, a local Dask cluster). Credentials
live in the connection (Airflow's secrets backend), never in DAG files or the repository. The two hooks give
those connections their own types in the UI (``dubflow_s3``, ``dubflow_dask``: labelled fields and a working
*Test* button); a connection of type ``aws`` or ``generic`` with the same id still works.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from contextlib import chdir, contextmanager
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook

log = logging.getLogger(__name__)
# The checkout (plugins/..); for the copy installed in the Airflow image, AIRFLOW_HOME, which holds configs/.
_CHECKOUT = Path(__file__).resolve().parents[2]
REPO = _CHECKOUT if (_CHECKOUT / "configs").is_dir() else Path(os.environ.get("AIRFLOW_HOME", "/opt/airflow"))
STORE_CONN = "minio_default"
DASK_CONN = "dask_default"
EXTRAS = {"region_name": "region", "bucket_prefix": "bucket_prefix", "secure": "secure"}  # extra → storage setting


class _DubflowHook(BaseHook):
    """One dubflow connection; Airflow builds a hook as ``Hook(<conn_name_attr>=conn_id)``."""

    def __init__(self, **conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id.get(self.conn_name_attr, self.default_conn_name)


class DubflowS3Hook(_DubflowHook):
    """The object store dubflow reads scripts from and publishes to: MinIO or any S3 server."""

    conn_name_attr = "dubflow_s3_conn_id"
    default_conn_name = STORE_CONN
    conn_type = "dubflow_s3"
    hook_name = "dubflow object store (S3, MinIO)"

    def test_connection(self) -> tuple[bool, str]:
        """Reach the server with the connection's keys and check this deployment's three buckets."""
        from pipeline.storage.errors import StorageError
        from pipeline.storage.store import ObjectStore

        try:
            base = base_settings().storage
            overrides = store_overrides(self.get_connection(self.conn_id))
            storage = type(base).model_validate({**base.model_dump(), **overrides})
            missing = ObjectStore.from_settings(storage).missing_buckets()
        except (StorageError, ValueError) as exc:
            return False, str(exc)
        if missing:
            return False, f"{storage.endpoint}: reached, but bucket(s) {', '.join(missing)} do not exist"
        return True, f"{storage.endpoint}: reached; the inbox, staging and assets buckets exist"


class DubflowDaskHook(_DubflowHook):
    """The Dask scheduler that synthesis fans out to (dask-cuda workers on the GPU nodes)."""

    conn_name_attr = "dubflow_dask_conn_id"
    default_conn_name = DASK_CONN
    conn_type = "dubflow_dask"
    hook_name = "dubflow Dask scheduler"

    def test_connection(self) -> tuple[bool, str]:
        """Connect to the scheduler (with the configured TLS certificates) and count its workers."""
        from pipeline.compute.cluster import ClusterError, open_client

        base = base_settings().dask
        try:
            overrides = dask_overrides(self.get_connection(self.conn_id), base.external.model_dump())
            dask = type(base).model_validate({**base.model_dump(), **overrides})
            with open_client(dask, timeout="10s") as client:  # a person is waiting on the button
                workers = client.scheduler_info()["workers"].values()
        except (ClusterError, ValueError, OSError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        gpus = sum(1 for w in workers if (w.get("resources") or {}).get("GPU"))
        return True, f"{dask.external.scheduler_address}: {len(workers)} worker(s), {gpus} with a GPU"


def base_settings():  # -> pipeline.settings.Settings
    from pipeline.settings import load_settings

    return load_settings(REPO / "configs" / "pipeline.yaml")


def _connection(conn_id: str) -> Any | None:
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def store_overrides(conn: Any) -> dict[str, Any]:
    """An aws/S3-style connection (``extra.endpoint_url``) or a generic one (host:port, login, password)."""
    extra = conn.extra_dejson or {}
    endpoint = extra.get("endpoint_url") or (f"{conn.host}:{conn.port}" if conn.port else conn.host)
    if not endpoint:
        raise ValueError(f"connection {conn.conn_id}: no endpoint (set extra.endpoint_url or host/port)")
    values: dict[str, Any] = {"endpoint": endpoint}
    access, secret = conn.login or extra.get("aws_access_key_id"), conn.password or extra.get("aws_secret_access_key")
    # Only what the connection sets: keys from the environment stay otherwise.
    values |= {name: value for name, value in (("access_key", access), ("secret_key", secret)) if value}
    return values | {EXTRAS[key]: extra[key] for key in EXTRAS if key in extra}


def dask_overrides(conn: Any, external: dict[str, Any]) -> dict[str, Any]:
    """External mode at the connection's scheduler; the TLS certificate paths from the settings are kept."""
    if not conn.host:
        raise ValueError(f"connection {conn.conn_id}: no scheduler host")
    scheme = "tls" if (conn.extra_dejson or {}).get("tls") else "tcp"
    address = f"{scheme}://{conn.host}:{conn.port or 8786}"
    return {"mode": "external", "external": {**external, "scheduler_address": address}}


def pipeline_settings():  # -> pipeline.settings.Settings
    """The repo's settings, with the object store and Dask scheduler taken from connections when defined. Inside a
    task runner, local Dask workers fork: spawning would re-run the ``airflow`` CLI, which refuses to start where
    tasks may not reach the metadata database (the runner's marker; ``dag.test()`` in a test process has none)."""
    from pipeline.settings import load_settings

    overrides: dict[str, Any] = {}
    base = base_settings()
    if os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "").startswith("airflow-db-not-allowed"):
        overrides["dask"] = {**base.dask.model_dump(), "start_method": "fork"}
    if (store := _connection(STORE_CONN)) is not None:
        overrides["storage"] = {**base.storage.model_dump(), **store_overrides(store)}
    if (dask := _connection(DASK_CONN)) is not None:
        external = dask_overrides(dask, base.dask.external.model_dump())
        overrides["dask"] = {**overrides.get("dask", base.dask.model_dump()), **external}
    return load_settings(REPO / "configs" / "pipeline.yaml", **overrides) if overrides else base


@contextmanager
def bad_input_fails_fast() -> Iterator[None]:
    """Errors end a task with a message, not a stack of our frames. A malformed script or request fails it at once
    (retrying a broken script only delays the run's failure by the whole backoff); an unreachable object store or
    cluster, or a script another run is voicing, is retried with backoff."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from pipeline.compute.cluster import ClusterError
    from pipeline.orchestrate import InputError
    from pipeline.storage.errors import StorageError

    try:
        yield
    except InputError as exc:
        record_failure(str(exc))
        raise AirflowFailException(str(exc)) from None
    except (StorageError, ClusterError) as exc:
        log.debug("%s", exc, exc_info=True)
        record_failure(f"{type(exc).__name__}: {exc}")
        raise AirflowException(f"{type(exc).__name__}: {exc}") from None
    except AirflowException:  # Airflow's own control flow (skip, fail): not ours to record
        raise
    except Exception as exc:  # a bug of ours: the traceback stays in the log, its one line goes to the Review tab
        record_failure(f"{type(exc).__name__}: {exc}")
        raise


FAILURE_KEY = "failure"  # the XCom with the message a dubflow task failed with


def record_failure(message: str) -> None:
    """The message as the task's ``failure`` XCom, for the Review tab: Airflow keeps a task's error only in its log
    (the next try of a retried task starts without it)."""
    from airflow.sdk import get_current_context

    try:
        get_current_context()["ti"].xcom_push(key=FAILURE_KEY, value=message[:4000])
    except Exception:  # outside a running task, or the XCom backend is down: the task log still has the message
        log.debug("could not record the failure for the Review tab", exc_info=True)


def in_repo() -> chdir[Path]:
    """Run with the repository as working directory: the settings' relative paths (voices, profiles, the local
    S3 server's data dir, model caches) are relative to it, wherever the Airflow worker was started."""
    return chdir(REPO)


def review_store():  # -> pipeline.storage.store.ObjectStore
    """The object store as the API server sees it: the tasks' settings, with relative paths resolved against the
    repository (a threaded web server must not chdir), and never starting the embedded S3 server from a request."""
    from pipeline.storage.store import ObjectStore

    storage = pipeline_settings().storage
    local = storage.local.model_copy(update={"data_dir": REPO / storage.local.data_dir})  # an absolute one stays
    return ObjectStore.from_settings(storage.model_copy(update={"local": local}))


def review_catalog():  # -> pipeline.voices.catalog.Catalog
    """The voice catalog as written (paths resolved against the repository): what the audition panel lists."""
    from pipeline.voices.catalog import load_catalog

    return load_catalog(REPO / pipeline_settings().voices_file)


def review_voices():  # -> (EngineRegistry, Catalog, ObjectStore | None)
    """The voice catalog (with its enrolled clips and transcripts) and one engine registry for the API server's
    auditions, with relative paths resolved against the repository (never chdir in a threaded server). The registry
    is kept for the process: each engine loads once, on its first audition; the catalog is read each time (an
    edited catalog is seen at once). Without a store the catalog is used as written."""
    from pipeline.enrollment.record import with_enrollments

    catalog = review_catalog()
    try:
        store = review_store()
        return _audition_registry(), with_enrollments(catalog, store), store
    except Exception as exc:  # the page shows the store's problem; auditions of CPU voices still work
        log.warning("auditions without enrolled voices: %s", exc)
        return _audition_registry(), catalog, None


@functools.cache
def _audition_registry():  # -> pipeline.engines.registry.EngineRegistry
    from pipeline.engines.registry import EngineRegistry

    engines = pipeline_settings().engines
    cached = {name: getattr(engines, name) for name in ("mandarin", "kokoro")}
    update = {name: part.model_copy(update={"cache_dir": REPO / part.cache_dir}) for name, part in cached.items()}
    if engines.piper.voices_dir is not None:
        update["piper"] = engines.piper.model_copy(update={"voices_dir": REPO / engines.piper.voices_dir})
    return EngineRegistry(engines.model_copy(update=update))
