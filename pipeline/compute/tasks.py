"""What runs on a worker: synthesize a batch of jobs, check the audio, write each clip to the staging cache.

A task returns metadata only (key, duration, engine, timings); the audio goes straight to object storage.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from distributed import get_worker

from pipeline import metrics
from pipeline.audio.encode import encode_wav
from pipeline.compute.plugin import EnginePlugin, current_plugin
from pipeline.engines.base import BadAudioError, EngineError, SynthesisResult, UnsupportedInputError
from pipeline.engines.registry import NoEngineError
from pipeline.events import RunTag, line_event
from pipeline.qa.checks import unusable
from pipeline.settings import SynthesisSettings
from pipeline.storage import keys
from pipeline.voices.plan import Job
from pipeline.voices.speak import reference_file, speak

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipMeta:
    """The task's answer for one line."""

    line_id: str
    ok: bool
    key: str | None = None  # staging key of the clip
    duration: float | None = None
    sample_rate: int | None = None
    engine: str | None = None
    model_version: str | None = None
    fell_back_from: str | None = None
    seed_used: int | None = None
    synth_seconds: float = 0.0
    worker: str = ""
    warnings: tuple[str, ...] = ()
    error: str | None = None
    reason: str | None = None  # why it failed, a short label (``metrics.REASONS``)

    @classmethod
    def failure(cls, line_id: str, reason: str, error: str, worker: str = "", engine: str | None = None) -> ClipMeta:
        return cls(line_id, False, engine=engine, worker=worker, error=error, reason=reason)


def synthesize_batch(
    plugin_name: str, jobs: list[Job], synthesis: SynthesisSettings, tag: RunTag | None = None
) -> list[ClipMeta]:
    """Dask task: every job of the batch, one after another on this worker's loaded engines. ``tag`` names the run
    in this worker's log events (the worker does not share the client's context)."""
    try:
        plugin = current_plugin(plugin_name)
    except RuntimeError as exc:  # set-up failed on this worker: every line fails here and is retried elsewhere
        address = get_worker().address
        results = [ClipMeta.failure(job.line.line_id, "worker_setup", str(exc), address) for job in jobs]
        for job, meta in zip(jobs, results, strict=True):
            account(job, meta, tag)
        return results
    # Uploads run on the plugin's I/O threads while the next line is synthesized; the task returns once all landed.
    pending = [synthesize_one(plugin, job, synthesis) for job in jobs]
    results = []
    for job, (meta, upload) in zip(jobs, pending, strict=True):
        if upload is not None:
            try:
                upload.result()
            except Exception as exc:  # the clip exists only if its upload succeeded
                meta = ClipMeta.failure(meta.line_id, "upload_error", f"upload: {exc}", plugin.address)
        account(job, meta, tag)
        results.append(meta)
    return results


def account(job: Job, meta: ClipMeta, tag: RunTag | None) -> None:
    """One line's outcome on this worker: its metrics and its log event (after its upload: a clip that did not
    land is a failure)."""
    if meta.ok:
        status = "fallback" if meta.fell_back_from else "synthesized"
        metrics.synthesized(meta.engine, meta.synth_seconds, meta.duration or 0.0, status)
        spoke = {"engine": meta.engine, "fell_back_from": meta.fell_back_from, "worker": meta.worker}
        took = {"seconds": meta.synth_seconds, "audio_seconds": meta.duration, "seed": meta.seed_used}
        line_event(log, "line synthesized", tag, job.line, **spoke, **took, take=job.take, key=meta.key)
    else:
        engine = meta.engine or job.engines[0]
        metrics.synthesis_failed(engine, meta.reason)
        failed = {"engine": engine, "worker": meta.worker, "reason": metrics.reason_label(meta.reason)}
        line_event(log, "line failed", tag, job.line, logging.WARNING, **failed, take=job.take, error=meta.error)


class TooLongError(EngineError):
    """The engine made more audio than one line may have (a model repeating itself, or text nobody split)."""


@metrics.IN_PROGRESS.track_inprogress()
def synthesize_one(plugin: EnginePlugin, job: Job, synthesis: SynthesisSettings) -> tuple[ClipMeta, Future[str] | None]:
    assert plugin.registry is not None and plugin.store is not None and plugin.uploads is not None
    engine_name: str | None = None
    problems: list[str] = []  # the seeds that gave unusable audio
    try:
        reference = reference_file(job.reference, plugin.store)
        for attempt in range(synthesis.reseed_attempts + 1):
            seed = (job.seed + attempt) % 2**32
            try:
                spoken = speak(plugin.registry, job, reference, seed=seed)
            except BadAudioError as exc:
                problems.append(f"seed {seed}: {exc}")
                continue
            result, engine_name = spoken.result, spoken.engine.name
            if (problem := unusable(result.samples, synthesis.silence_rms)) is None:
                break
            problems.append(f"seed {seed}: {problem}")
        else:
            tried = f"{synthesis.reseed_attempts + 1} seeds ({'; '.join(problems)})"
            raise BadAudioError(f"{engine_name or job.engines[0]}: no usable audio after {tried}")
        if result.duration > synthesis.max_line_seconds:
            made = f"{engine_name} made {result.duration:.0f} s of audio for one line"
            raise TooLongError(f"{made}; synthesis.max_line_seconds is {synthesis.max_line_seconds:g}")
        key = keys.cache_key(job.cache_key)
        metadata = _metadata(job, result, seed)
        wav = encode_wav(result.samples, result.sample_rate)
        upload = plugin.uploads.submit(
            plugin.store.put_bytes, "staging", key, wav, content_type="audio/wav", metadata=metadata
        )
        fell_back_from = job.engines[0] if engine_name != job.engines[0] else None
        duration = float(f"{result.duration:.6f}")  # what the cache metadata says, so cached and fresh runs agree
        meta = ClipMeta(job.line.line_id, True, key, duration, result.sample_rate, result.engine, result.model_version)
        done = {"seed_used": seed, "synth_seconds": result.synth_seconds, "warnings": (*problems, *result.warnings)}
        return replace(meta, fell_back_from=fell_back_from, worker=plugin.address, **done), upload
    except Exception as exc:  # one line's failure is reported, never the batch's
        error = f"{type(exc).__name__}: {exc}"
        return ClipMeta.failure(job.line.line_id, failure_reason(exc), error, plugin.address, engine_name), None


def failure_reason(exc: BaseException) -> str:
    """The short label (``metrics.REASONS``) for a synthesis exception."""
    if isinstance(exc, TooLongError):
        return "too_long"
    if isinstance(exc, BadAudioError):
        return "bad_audio"
    if isinstance(exc, NoEngineError | UnsupportedInputError):
        return "unsupported"
    if isinstance(exc, EngineError):
        return "engine_error"
    return "other"


def _metadata(job: Job, result: SynthesisResult, seed: int) -> dict[str, str]:
    # S3 user metadata is ASCII: only ids and numbers here (the text lives in the lines table and manifests).
    line, version = job.line, result.model_version.encode("ascii", "replace").decode()
    ids = {"line-id": line.line_id, "script-id": line.script_id, "voice": job.voice.id, "engine": result.engine}
    clip = {"model-version": version, "duration": f"{result.duration:.6f}", "sample-rate": str(result.sample_rate)}
    return {**ids, **clip, "seed": str(seed), "take": str(job.take)}


def cached_meta(line_id: str, key: str, metadata: dict[str, Any]) -> ClipMeta:
    duration, rate = float(metadata.get("duration", "nan")), int(metadata.get("sample-rate", 0))
    engine, model_version, seed = metadata.get("engine"), metadata.get("model-version"), int(metadata.get("seed", 0))
    return ClipMeta(line_id, True, key, duration, rate, engine, model_version, seed_used=seed)
