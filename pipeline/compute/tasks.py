"""What runs on a worker: synthesize a batch of jobs, check the audio, write each clip to the staging cache.

A task returns metadata only (key, duration, engine, timings); the audio goes straight to object storage.
"""

from __future__ import annotations

import io
import logging
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import soundfile as sf
from distributed import get_worker

from pipeline import metrics
from pipeline.compute.plugin import EnginePlugin, current_plugin
from pipeline.engines.base import BadAudioError, EngineError, UnsupportedInputError
from pipeline.engines.registry import NoEngineError
from pipeline.events import RunTag, line_event
from pipeline.qa.checks import unusable
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


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """32-bit float WAV: the raw clip keeps full precision for post-processing."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def synthesize_batch(plugin_name: str, jobs: list[Job], reseed_attempts: int, silence_rms: float,
                     tag: RunTag | None = None, max_seconds: float | None = None) -> list[ClipMeta]:  # fmt: skip
    """Dask task: every job of the batch, one after another on this worker's loaded engines. ``tag`` names the run
    in this worker's log events (the worker does not share the client's context)."""
    try:
        plugin = current_plugin(plugin_name)
    except RuntimeError as exc:  # set-up failed on this worker: every line fails here and is retried elsewhere
        address = get_worker().address
        results = [
            ClipMeta(job.line.line_id, False, worker=address, error=str(exc), reason="worker_setup") for job in jobs
        ]
        for job, meta in zip(jobs, results, strict=True):
            account(job, meta, tag)
        return results
    # Uploads run on the plugin's I/O threads while the next line is synthesized; the task returns once all landed.
    pending = [synthesize_one(plugin, job, reseed_attempts, silence_rms, max_seconds) for job in jobs]
    results = []
    for job, (meta, upload) in zip(jobs, pending, strict=True):
        if upload is not None:
            try:
                upload.result()
            except Exception as exc:  # the clip exists only if its upload succeeded
                meta = ClipMeta(
                    meta.line_id, False, worker=plugin.address, error=f"upload: {exc}", reason="upload_error"
                )
        account(job, meta, tag)
        results.append(meta)
    return results


def account(job: Job, meta: ClipMeta, tag: RunTag | None) -> None:
    """One line's outcome on this worker: its metrics and its log event (after its upload: a clip that did not
    land is a failure)."""
    if meta.ok:
        metrics.synthesized(
            meta.engine, meta.synth_seconds, meta.duration or 0.0, "fallback" if meta.fell_back_from else "synthesized"
        )
        line_event(log, "line synthesized", tag, job.line, engine=meta.engine, fell_back_from=meta.fell_back_from,
                   worker=meta.worker, seconds=meta.synth_seconds, audio_seconds=meta.duration, seed=meta.seed_used,
                   take=job.take, key=meta.key)  # fmt: skip
    else:
        engine = meta.engine or job.engines[0]
        metrics.synthesis_failed(engine, meta.reason)
        line_event(log, "line failed", tag, job.line, logging.WARNING, engine=engine, worker=meta.worker,
                   reason=metrics.reason_label(meta.reason), take=job.take, error=meta.error)  # fmt: skip


class TooLongError(EngineError):
    """The engine made more audio than one line may have (a model repeating itself, or text nobody split)."""


@metrics.IN_PROGRESS.track_inprogress()
def synthesize_one(
    plugin: EnginePlugin, job: Job, reseed_attempts: int, silence_rms: float, max_seconds: float | None = None
) -> tuple[ClipMeta, Future[str] | None]:
    assert plugin.registry is not None and plugin.store is not None and plugin.uploads is not None
    engine_name: str | None = None
    problems: list[str] = []  # the seeds that gave unusable audio
    try:
        reference = reference_file(job.reference, plugin.store)
        for attempt in range(reseed_attempts + 1):
            seed = (job.seed + attempt) % 2**32
            try:
                spoken = speak(plugin.registry, job, reference, seed=seed)
            except BadAudioError as exc:
                problems.append(f"seed {seed}: {exc}")
                continue
            result, engine_name = spoken.result, spoken.engine.name
            if (problem := unusable(result.samples, silence_rms)) is None:
                break
            problems.append(f"seed {seed}: {problem}")
        else:
            tried = f"{reseed_attempts + 1} seeds ({'; '.join(problems)})"
            raise BadAudioError(f"{engine_name or job.engines[0]}: no usable audio after {tried}")
        if max_seconds is not None and result.duration > max_seconds:
            made = f"{engine_name} made {result.duration:.0f} s of audio for one line"
            raise TooLongError(f"{made}; synthesis.max_line_seconds is {max_seconds:g}")
        key = keys.cache_key(job.cache_key)
        metadata = _metadata(job, result.engine, result.model_version, result.duration, result.sample_rate, seed)
        wav = encode_wav(result.samples, result.sample_rate)
        upload = plugin.uploads.submit(
            plugin.store.put_bytes, "staging", key, wav, content_type="audio/wav", metadata=metadata
        )
        fell_back_from = job.engines[0] if engine_name != job.engines[0] else None
        duration = float(f"{result.duration:.6f}")  # what the cache metadata says, so cached and fresh runs agree
        meta = ClipMeta(job.line.line_id, True, key, duration, result.sample_rate, result.engine, result.model_version)
        return replace(meta, fell_back_from=fell_back_from, seed_used=seed, synth_seconds=result.synth_seconds,
                       worker=plugin.address, warnings=(*problems, *result.warnings)), upload  # fmt: skip
    except Exception as exc:  # one line's failure is reported, never the batch's
        error = f"{type(exc).__name__}: {exc}"
        return ClipMeta(job.line.line_id, False, engine=engine_name, worker=plugin.address, error=error,
                        reason=failure_reason(exc)), None  # fmt: skip


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


def _metadata(job: Job, engine: str, model_version: str, duration: float, rate: int, seed: int) -> dict[str, str]:
    # S3 user metadata is ASCII: only ids and numbers here (the text lives in the lines table and manifests).
    return {"line-id": job.line.line_id, "script-id": job.line.script_id, "voice": job.voice.id, "engine": engine,
            "model-version": model_version.encode("ascii", "replace").decode(), "duration": f"{duration:.6f}",
            "sample-rate": str(rate), "seed": str(seed), "take": str(job.take)}  # fmt: skip


def cached_meta(line_id: str, key: str, metadata: dict[str, Any]) -> ClipMeta:
    duration, rate = float(metadata.get("duration", "nan")), int(metadata.get("sample-rate", 0))
    engine, model_version, seed = metadata.get("engine"), metadata.get("model-version"), int(metadata.get("seed", 0))
    return ClipMeta(line_id, True, key, duration, rate, engine, model_version, seed_used=seed)
