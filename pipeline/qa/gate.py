"""The QA gate for one line, on the worker that holds the audio: post-process, check, re-synthesize what a new
seed or the fallback engine can fix, and quarantine what still fails — with its reasons."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline import metrics
from pipeline.audio.process import Processed, process_clip
from pipeline.audio.profiles import Profile
from pipeline.compute.jobs import Job
from pipeline.compute.plugin import EnginePlugin
from pipeline.compute.tasks import choose
from pipeline.engines.base import EngineError
from pipeline.events import RunTag, line_event
from pipeline.qa import models
from pipeline.qa.checks import line_checks
from pipeline.qa.model import Check, LineQa, overall
from pipeline.settings import QaSettings
from pipeline.storage import keys
from pipeline.voices.speak import build_request

log = logging.getLogger(__name__)

# Failures another take can fix. Timing overflow (the text is too long for the cue) and loudness (the chain
# sets it) are not: re-synthesizing those only burns GPU time.
RETRYABLE = frozenset({"audio", "clipping", "intelligibility", "speaker_similarity"})


@dataclass(frozen=True)
class Slot:
    cue_s: float | None  # None for narration
    gap_after_s: float | None


def run_checks(p: Processed, job: Job, profile: Profile, qa: QaSettings, reference: Path | None) -> list[Check]:
    line = job.line
    checks = line_checks(p.samples, p.rate, p.fit, line.spoken_text, line.lang, profile)
    if checks[0].verdict == "fail":
        return checks
    if qa.asr:
        asr_models = {**models.default_asr_models(), **qa.asr_models}
        checks.append(models.intelligibility(p.samples, p.rate, line.spoken_text, line.lang, asr_models, profile))
    else:
        checks.append(Check("intelligibility", "not-checked", detail="qa.asr is off"))
    if qa.similarity:
        checks.append(models.similarity(p.samples, p.rate, reference, profile))
    else:
        checks.append(Check("speaker_similarity", "not-checked", detail="qa.similarity is off"))
    return checks


def finish_line(plugin: EnginePlugin, job: Job, raw_key: str, engine: str | None, slot: Slot, profile: Profile,
                qa: QaSettings, tag: RunTag | None = None) -> LineQa:  # fmt: skip
    assert plugin.store is not None and plugin.registry is not None
    store = plugin.store
    samples, rate = sf.read(io.BytesIO(store.get_bytes("staging", raw_key)), dtype="float32", always_2d=False)
    reference = Path(job.reference) if job.reference and not job.reference.startswith("s3://") else (
        store.fetch_uri(job.reference, Path("var/cache/references")) if job.reference else None)  # fmt: skip
    engine_used = engine
    attempts = 1
    while True:
        processed = process_clip(samples, rate, profile, slot.cue_s, slot.gap_after_s)
        checks = run_checks(processed, job, profile, qa, reference)
        verdict = overall(checks)
        failed = [c for c in checks if c.verdict == "fail"]
        if verdict != "fail" or attempts > qa.max_resynth or not any(c.name in RETRYABLE for c in failed):
            break
        retake = _retake(plugin, job, attempts, reference, tag)
        if isinstance(retake, str):  # the engine could not run here: say so, do not pretend the retake failed
            checks.append(Check("retake", "not-checked", detail=retake))
            break
        samples, rate, engine_used = retake
        attempts += 1
    quarantined = verdict == "fail"
    digest = hashlib.sha256(json.dumps([raw_key, profile.model_dump(mode="json"), slot.cue_s, slot.gap_after_s,
                                        attempts], default=str).encode()).hexdigest()  # fmt: skip
    key = keys.post_key(digest, "wav")
    buffer = io.BytesIO()
    sf.write(buffer, processed.samples, processed.rate, format="WAV", subtype="FLOAT")
    store.put_bytes("staging", key, buffer.getvalue(), content_type="audio/wav",
                    metadata={"line-id": job.line.line_id, "verdict": verdict})  # fmt: skip
    loud = next((c.value for c in checks if c.name == "loudness"), None)
    return LineQa(
        line_id=job.line.line_id, lang=job.line.lang, text=job.line.text, verdict=verdict, checks=checks,
        attempts=attempts, quarantined=quarantined,
        reasons=[f"{c.name}: {c.detail or c.value} ({c.threshold})" for c in failed] if quarantined else [],
        key=key, duration_s=processed.samples.shape[0] / processed.rate, loudness=loud,
        true_peak=round(processed.true_peak, 2), stretch=processed.fit.stretch, engine=engine_used,
        voice=job.voice.id,
        # The clip starts with the profile's head pad: place it that much early so speech starts on the cue.
        start_s=None if job.line.start is None else max(0.0, job.line.start + processed.fit.offset_s
                                                        - profile.trim.pad_ms / 1000),
    )


def _retake(plugin: EnginePlugin, job: Job, attempt: int, reference: Path | None, tag: RunTag | None = None
            ) -> tuple[np.ndarray, int, str] | str:  # fmt: skip
    """Another take: a new seed with the planned engine, and from the second retake the next planned engine."""
    assert plugin.registry is not None
    fallback = attempt >= 2 and len(job.engines) > 1
    engines = job.engines[1:] if fallback else job.engines
    # take > 0 also tells engines without a usable seed (Piper) to sample their noise: a new seed alone would
    # give Piper's seeded, noise-free output again, the very audio that just failed.
    request = replace(build_request(job.line, job.voice, reference, (job.seed + 7919 * attempt) % 2**32),
                      take=job.take + attempt)  # fmt: skip
    if fallback:  # the voice's engine-specific name (a Piper model) means nothing to the fallback engine
        request = replace(request, voice=replace(request.voice, engine_voice=None))
    try:
        engine, _, request = choose(plugin.registry, request, engines)
        result = engine.synthesize(request)
    except EngineError as exc:
        metrics.line_failed(engines[0], "retake_error")
        line_event(log, "line retake failed", tag, job.line, logging.WARNING, engine=engines[0], worker=plugin.address,
                   attempt=attempt, reason="retake_error", error=str(exc))  # fmt: skip
        return f"retake {attempt} could not run: {exc}"
    metrics.synthesized(result.engine, result.synth_seconds, result.duration, "retake")
    line_event(log, "line retake", tag, job.line, engine=result.engine, worker=plugin.address, attempt=attempt,
               seconds=result.synth_seconds, audio_seconds=result.duration, seed=request.seed,
               take=request.take)  # fmt: skip
    return result.samples, result.sample_rate, result.engine
