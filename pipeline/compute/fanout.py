"""Fan a script's lines out over Dask: plan, skip what the cache has, submit batches, retry, report.

Tasks are batches of lines of one voice (prompt caches are reused; at most ``batch_size``, and small enough that
every worker gets at least four tasks), submitted in script order (priority), with a
GPU resource for GPU engines. A line that fails is retried on another worker where there is one; a worker that
dies is replaced by its nanny and its tasks run elsewhere; a line that still fails is reported with its error
while every other line completes. Re-running after any crash, including the client's, starts from the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from functools import cache, partial
from itertools import groupby
from typing import Any, Literal

from pipeline import metrics
from pipeline.compute.cluster import ClusterSpec, LazyClient, cluster_spec, open_client
from pipeline.compute.plugin import EnginePlugin
from pipeline.compute.shards import missing_resources, task_resources
from pipeline.compute.tasks import ClipMeta, cached_meta, synthesize_batch
from pipeline.engines.registry import EngineRegistry
from pipeline.events import RunTag, line_event, new_run_id
from pipeline.scripts.model import Line
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from pipeline.voices.plan import Job, Run, plan_jobs

log = logging.getLogger(__name__)

Status = Literal["synthesized", "cached", "failed"]


@dataclass(frozen=True)
class LineResult:
    """A line after synthesis: its plan (None when it could not be planned) and what the worker or cache gave."""

    line: Line
    status: Status
    job: Job | None = None
    clip: ClipMeta | None = None
    attempts: int = 0
    error: str | None = None

    @property
    def key(self) -> str | None:
        return self.clip.key if self.clip else None

    @property
    def engine(self) -> str | None:
        return self.clip.engine if self.clip else None


@dataclass
class RunReport:
    results: list[LineResult]
    wall_seconds: float = 0.0
    workers: int = 0
    run_id: str = ""  # names the run in every log event about its lines (client and workers)
    project: str = ""

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[LineResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def audio_seconds(self) -> float:
        return sum(r.clip.duration or 0.0 for r in self.results if r.clip and r.status == "synthesized")

    @property
    def synth_seconds(self) -> float:
        return sum(r.clip.synth_seconds for r in self.results if r.clip and r.status == "synthesized")

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(status)} {status}" for status in ("synthesized", "cached"))
        return f"{len(self.results)} lines: {counts}, {self.count('failed')} failed in {self.wall_seconds:.1f} s"


@dataclass(frozen=True)
class Stage:
    """Where a stage of a run works: its settings, the object store, and the Dask client (a ``LazyClient`` opens
    the configured cluster on first use)."""

    settings: Settings
    store: ObjectStore
    client: Any


Progress = Callable[[LineResult], None]


def synthesize(
    lines: list[Line],
    catalog: Catalog,
    project: str,
    settings: Settings,
    store: ObjectStore,
    *,
    client: Any = None,  # a distributed.Client, a LazyClient, or None = open the configured cluster for this call
    force: bool = False,
    progress: Progress | None = None,
    takes: dict[str, int] | None = None,  # line id → reviewer retake number (a new seed and cache key); absent = 0
    engine: str | None = None,  # speak every line with this engine (the trigger form's engine override)
    run_id: str | None = None,  # the orchestrator's run id (Airflow's); None = a new local one
) -> RunReport:
    """Synthesize ``lines`` into the staging cache; returns one result per line, in script order. Every line gets a
    log event here (synthesized with the worker that spoke it, cached, or failed with its reason) and one on the
    worker, both carrying ``run_id``, ``project``, ``script_id`` and ``line_id``."""
    started = time.perf_counter()
    tag = RunTag(run_id or new_run_id(), project)
    registry, synthesis = EngineRegistry(settings.engines), settings.synthesis
    digest = cache(partial(_reference_digest, store))  # one HEAD per voice, not per line
    run = Run(digest, takes or {}, engine, synthesis.max_line_chars, settings.dask.shards)
    jobs, plan_failures = plan_jobs(lines, catalog, project, registry, synthesis.seed, run)
    results: dict[str, LineResult] = {}

    def record(result: LineResult, reason: str | None = None) -> None:
        results[result.line.line_id] = result
        _client_event(tag, result, reason)
        if progress is not None:
            progress(result)

    for failure in plan_failures:
        record(LineResult(failure.line, "failed", error=failure.error), "plan")
    use_cache = synthesis.cache and not force
    misses = []
    for job, meta in zip(jobs, _lookup(store, jobs) if use_cache else [None] * len(jobs), strict=True):
        if meta is None:
            misses.append(job)
        else:
            clip = cached_meta(job.line.line_id, keys.cache_key(job.cache_key), meta)
            metrics.cached(clip.engine)  # this process's registry: a cache hit is no worker's work
            record(LineResult(job.line, "cached", job, clip))
    workers = 0
    if misses:
        spec = cluster_spec(settings.dask)
        with _client(client, settings, spec) as active:
            workers = _run(Stage(settings, store, active), misses, spec, record, tag)
    missing = [line.line_id for line in lines if line.line_id not in results]
    if missing:  # every line ends synthesized, cached or failed: anything else is a bug, never a silent drop
        raise RuntimeError(f"fan-out lost track of lines {missing[:5]}")
    return RunReport(
        [results[line.line_id] for line in lines], time.perf_counter() - started, workers, tag.run_id, project
    )


def _client_event(tag: RunTag, result: LineResult, reason: str | None = None) -> None:
    """The orchestrator's side of a line: grep its id in the task log, find the worker, grep it there too."""
    clip, failed = result.clip or ClipMeta(result.line.line_id, False), result.status == "failed"
    more = {"reason": reason or clip.reason, "error": result.error} if failed else {"audio_seconds": clip.duration}
    more.update(engine=clip.engine, worker=clip.worker or None, attempts=result.attempts or None, key=result.key)
    line_event(log, f"line {result.status}", tag, result.line, logging.WARNING if failed else logging.INFO, **more)


@contextmanager
def _client(client: Any, settings: Settings, spec: ClusterSpec) -> Iterator[Any]:
    if isinstance(client, LazyClient):
        client = client()
    with nullcontext(client) if client is not None else open_client(settings.dask, spec) as active:
        yield active


def _run(stage: Stage, jobs: list[Job], spec: ClusterSpec, record: Callable[..., None], tag: RunTag) -> int:
    from distributed import as_completed

    client, synthesis = stage.client, stage.settings.synthesis
    plugin = ensure_engines(client, stage.settings, stage.store, sorted({job.engines[0] for job in jobs}), spec)
    attempts: dict[str, int] = {}
    gpu_workers = [w for w, info in client.scheduler_info()["workers"].items() if info.get("resources", {}).get("GPU")]
    if not gpu_workers:  # a GPU task with no GPU worker would wait forever: fail those lines now, clearly
        for job in [j for j in jobs if j.gpu]:
            error = f"engine {job.engines[0]} needs a GPU worker (resources GPU=1) and the cluster has none"
            record(LineResult(job.line, "failed", job, error=error), "no_gpu_worker")
        jobs = [j for j in jobs if not j.gpu]
    # A shard no worker offers would hold its lines forever, too.
    workers_info = client.scheduler_info()["workers"]
    for resource in missing_resources((task_resources(j.gpu, j.shard) for j in jobs), workers_info):
        for job in [j for j in jobs if j.gpu and j.shard == resource]:
            error = (
                f"voice {job.voice.id} is pinned to GPU workers with resource {resource} (dask.shards) and "
                f'no connected worker offers it (start them with --resources "GPU=1,{resource}=1")'
            )
            record(LineResult(job.line, "failed", job, error=error), "no_shard_worker")
        jobs = [j for j in jobs if not (j.gpu and j.shard == resource)]
    if not jobs:
        return len(workers_info)
    by_id = {job.line.line_id: job for job in jobs}
    batch_of: dict[str, list[Job]] = {}

    def submit(batch: list[Job], avoid: str | None = None) -> Any:
        others = [w for w in client.scheduler_info()["workers"] if w != avoid] if avoid else []
        elsewhere = {"workers": others, "allow_other_workers": True} if others else {}  # a retry: not where it failed
        first = batch[0]
        options = {"priority": -first.line.index, "resources": task_resources(first.gpu, first.shard), "pure": False}
        options["key"] = f"synthesize-{first.line.script_id}-{first.line.line_id}-{time.monotonic_ns()}"
        # Script order (priority): earlier lines first.
        future = client.submit(synthesize_batch, plugin.name, batch, synthesis, tag, **options, **elsewhere)
        batch_of[future.key] = batch
        return future

    workers_now = max(1, len(client.scheduler_info()["workers"]))
    # At least four tasks per worker, so the last batches do not leave workers idle while one finishes.
    size = max(1, min(synthesis.batch_size, -(-len(jobs) // (4 * workers_now))))
    futures = as_completed([submit(batch) for batch in _batches(jobs, size)])
    for future in futures:
        batch = batch_of.pop(future.key)
        try:
            clips: list[ClipMeta] = future.result()
        except Exception as exc:  # the task itself failed (worker lost too often, unpicklable result, …)
            clips = [ClipMeta.failure(job.line.line_id, "task_error", f"{type(exc).__name__}: {exc}") for job in batch]
        for clip in clips:
            job = by_id[clip.line_id]
            attempts[clip.line_id] = attempts.get(clip.line_id, 0) + 1
            if clip.ok:
                record(LineResult(job.line, "synthesized", job, clip, attempts[clip.line_id]))
            elif attempts[clip.line_id] <= synthesis.retries:
                retry = {"engine": clip.engine, "worker": clip.worker or None, "attempt": attempts[clip.line_id]}
                line_event(log, "line retry", tag, job.line, **retry, reason=clip.reason, error=clip.error)
                futures.add(submit([job], avoid=clip.worker or None))
            else:
                record(LineResult(job.line, "failed", job, clip, attempts[clip.line_id], clip.error))
    return len(client.scheduler_info()["workers"])


_registered: dict[str, set[str]] = {}  # scheduler address → plugin names this process registered


def ensure_engines(
    client: Any, settings: Settings, store: ObjectStore, preload: list[str], spec: ClusterSpec | None = None
) -> EnginePlugin:
    """This run's engine plugin on every worker (already there when the settings are the same)."""
    spec = spec or cluster_spec(settings.dask)
    engines = _engine_settings(settings, spec.engine_threads)
    plugin = EnginePlugin(engines, preload, store, settings.dask.worker_log_level)
    _replace_plugin(client, plugin)
    return plugin


def _replace_plugin(client: Any, plugin: EnginePlugin) -> None:
    """Register this run's engines (a no-op when the same ones are loaded) and drop the engine sets this process
    registered earlier with other settings. Other clients' plugins on a shared scheduler are never touched."""
    mine = _registered.setdefault(client.scheduler.address, set())
    for name in mine - {plugin.name}:
        with suppress(ValueError, KeyError):  # already gone
            client.unregister_worker_plugin(name)
        mine.discard(name)
    client.register_plugin(plugin, name=plugin.name)
    mine.add(plugin.name)


def _batches(jobs: list[Job], size: int) -> list[list[Job]]:
    """Lines of one voice and engine chain together, in script order, ``size`` at a time."""
    ordered = sorted(jobs, key=lambda j: (j.voice.id, j.engines, j.shard or "", j.line.index))
    batches = []
    for _, group in groupby(ordered, key=lambda j: (j.voice.id, j.engines, j.shard)):
        members = list(group)
        batches.extend(members[i : i + size] for i in range(0, len(members), size))
    return sorted(batches, key=lambda b: b[0].line.index)


def _engine_settings(settings: Settings, threads: int):  # -> EngineSettings
    """CPU engines get ``threads`` each, so N workers × threads = cores instead of N × cores."""
    engines = settings.engines
    return engines.model_copy(
        update={
            "piper": engines.piper.model_copy(update={"num_threads": engines.piper.num_threads or threads}),
            "mandarin": engines.mandarin.model_copy(update={"num_threads": threads}),
            "kokoro": engines.kokoro.model_copy(update={"num_threads": engines.kokoro.num_threads or threads}),
        }
    )


def _lookup(store: ObjectStore, jobs: list[Job]) -> list[dict[str, str] | None]:
    """Cache metadata per job (None = miss), with concurrent HEAD requests."""

    def head(job: Job) -> dict[str, str] | None:
        info = store.stat("staging", keys.cache_key(job.cache_key))
        return dict(info.metadata) if info is not None else None

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(head, jobs))


def _reference_digest(store: ObjectStore, uri: str) -> str:
    info = store.stat_uri(uri)
    if info is None:
        raise KeyError(f"voice reference {uri} does not exist")
    return info.sha256 or info.etag
