"""Which Dask cluster a run uses, built from ``dask`` settings: GPUs → one worker per GPU, else CPU processes.

The spec (class + keyword arguments) is built separately from the cluster so it can be checked on machines with
no GPU; ``dask_cuda`` is imported only when a CUDA cluster is actually started (it does not import without CUDA).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pipeline.settings import DaskSettings

log = logging.getLogger(__name__)

Mode = Literal["cuda", "local", "external"]


class ClusterError(RuntimeError):
    pass


def visible_gpus() -> list[int]:
    """GPU indices this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else what ``nvidia-smi -L`` lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [int(d) for d in env.split(",") if d.strip().isdigit()]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [n for n, row in enumerate(line for line in listing.splitlines() if line.startswith("GPU "))]


def resolve_mode(settings: DaskSettings, gpus: list[int] | None = None) -> Mode:
    if settings.mode != "auto":
        return settings.mode
    if settings.external.scheduler_address:
        return "external"
    return "cuda" if (visible_gpus() if gpus is None else gpus) else "local"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ClusterSpec:
    mode: Mode
    factory: str  # "dask_cuda.LocalCUDACluster", "distributed.LocalCluster", or "" for an external scheduler
    kwargs: dict[str, Any] = field(default_factory=dict)
    address: str | None = None  # external only
    workers: int = 0  # expected worker count (0 = whatever the external cluster has)
    engine_threads: int = 1  # CPU threads each worker gives its engines
    gpu: bool = False
    start_method: str = "spawn"  # local worker processes (dask.start_method)


def cluster_spec(settings: DaskSettings, gpus: list[int] | None = None, cores: int | None = None) -> ClusterSpec:
    mode = resolve_mode(settings, gpus)
    cores = cores or cpu_count()
    # The scheduler's HTTP server (health, metrics, and the dashboard when bokeh is installed) always starts;
    # a free loopback port keeps two clusters on one machine from fighting over 8787.
    dashboard = "127.0.0.1:0"
    if mode == "external":
        address = settings.external.scheduler_address
        if not address:
            raise ClusterError("dask.mode is external but dask.external.scheduler_address is not set")
        threads = settings.engine_threads or 1
        return ClusterSpec("external", "", {}, address=address, engine_threads=threads)
    if mode == "cuda":
        devices = settings.cuda.visible_devices
        if devices is None:
            devices = visible_gpus() if gpus is None else gpus
        if not devices:
            raise ClusterError("dask.mode is cuda but no GPU is visible (CUDA_VISIBLE_DEVICES / nvidia-smi)")
        threads = settings.engine_threads or max(1, cores // len(devices))
        kwargs: dict[str, Any] = {
            "CUDA_VISIBLE_DEVICES": ",".join(str(d) for d in devices),
            "n_workers": len(devices),
            "threads_per_worker": max(settings.threads_per_worker, settings.cuda.lines_per_gpu),
            "device_memory_limit": settings.cuda.device_memory_limit,
            "protocol": settings.cuda.protocol,
            # GPU tasks ask for one: a worker runs lines_per_gpu of them at once
            "resources": {"GPU": settings.cuda.lines_per_gpu},
            "host": "127.0.0.1",
            "dashboard_address": dashboard,
            "preload": [PARENT_WATCH],
        }
        if settings.cuda.rmm_pool_size:
            kwargs["rmm_pool_size"] = settings.cuda.rmm_pool_size
        return ClusterSpec(
            "cuda", "dask_cuda.LocalCUDACluster", kwargs, workers=len(devices), engine_threads=threads, gpu=True
        )
    workers = settings.workers or cores
    threads = settings.engine_threads or max(1, cores // workers)
    kwargs = {
        "n_workers": workers,
        "threads_per_worker": settings.threads_per_worker,
        "processes": True,
        "memory_limit": settings.memory_limit,
        "host": "127.0.0.1",
        "dashboard_address": dashboard,
        "silence_logs": logging.ERROR,
        "preload": [PARENT_WATCH],  # workers exit if this process dies without closing them
    }
    spec = ClusterSpec("local", "distributed.LocalCluster", kwargs, workers=workers, engine_threads=threads)
    return replace(spec, start_method=settings.start_method) if hasattr(os, "fork") else spec  # else: spawn


PARENT_WATCH = "pipeline.compute.parent_watch"
DASK_LOGGERS = ("distributed", "bokeh", "tornado")


def quiet_dask_lifecycle() -> None:
    """Dask's lifecycle lines (scheduler and workers starting, clients connecting, closing: ~60 per task) reach
    the caller's log through the root handlers (``silence_logs`` only quiets Dask's own stream handler) and bury
    the lines' events: they are kept below WARNING unless Dask's logger was set to DEBUG on purpose."""
    for name in DASK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level != logging.DEBUG:
            logger.setLevel(logging.WARNING)


def _security(settings: DaskSettings):  # -> distributed.Security | None
    external = settings.external
    if not (external.scheduler_address or "").startswith("tls://"):
        return None
    from distributed.security import Security

    return Security(
        tls_ca_file=str(external.tls_ca_file) if external.tls_ca_file else None,
        tls_client_cert=str(external.tls_client_cert) if external.tls_client_cert else None,
        tls_client_key=str(external.tls_client_key) if external.tls_client_key else None,
        require_encryption=True,
    )


def start_cluster(spec: ClusterSpec):  # -> distributed.deploy.Cluster | None
    if spec.mode == "external":
        return None
    if spec.mode == "cuda":
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError as exc:
            raise ClusterError(
                f"dask.mode is cuda but dask_cuda cannot be imported ({exc}); install the gpu extra on a CUDA node"
            ) from exc
        return LocalCUDACluster(**spec.kwargs)
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.multiprocessing-method": spec.start_method}):
        return LocalCluster(**spec.kwargs)


@contextmanager
def open_client(settings: DaskSettings, spec: ClusterSpec | None = None, timeout: str = "30s") -> Iterator[Any]:
    """A connected ``distributed.Client`` for the configured cluster; a cluster started here is closed on exit."""
    from distributed import Client

    spec = spec or cluster_spec(settings)
    quiet_dask_lifecycle()
    cluster = start_cluster(spec)
    try:
        if cluster is None:
            client = Client(spec.address, security=_security(settings), timeout=timeout)
        else:
            client = Client(cluster)
        if settings.dashboard:
            log.warning("Dask dashboard: %s", client.dashboard_link)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


@contextmanager
def shared_cluster(settings: DaskSettings) -> Iterator[str | None]:
    """Start the configured local (or CUDA) cluster once for everything this process runs in the block.

    Each voicing task opens its own client, and in local mode its own cluster: its workers start and load every
    engine and QA model again. A process that runs several tasks in turn (``make demo``'s ``dag.test()`` runs)
    would pay that per task; here they share one cluster, as a deployment's tasks share its scheduler: settings
    loaded in the block read ``dask.mode: external`` at its address (``DUBFLOW_DASK__…``, restored after). Yields
    the address; None, with nothing started, when the settings already name an external scheduler."""
    spec = cluster_spec(settings)
    if spec.mode == "external":
        yield None
        return
    quiet_dask_lifecycle()
    cluster = start_cluster(spec)
    env = {
        "DUBFLOW_DASK__MODE": "external",
        "DUBFLOW_DASK__EXTERNAL__SCHEDULER_ADDRESS": cluster.scheduler_address,
        "DUBFLOW_DASK__ENGINE_THREADS": str(spec.engine_threads),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield cluster.scheduler_address
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        cluster.close()


class LazyClient:
    """Opens the configured cluster on first use only: a fully cached re-run never starts Dask at all."""

    def __init__(self, settings: DaskSettings) -> None:
        self.settings = settings
        self._stack: ExitStack | None = None
        self._client: Any = None

    def __call__(self) -> Any:
        if self._client is None:
            self._stack = ExitStack()
            self._client = self._stack.enter_context(open_client(self.settings))
        return self._client

    @property
    def started(self) -> bool:
        return self._client is not None

    def __enter__(self) -> LazyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()
        self._client = self._stack = None
