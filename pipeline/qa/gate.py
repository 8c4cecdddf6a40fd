"""The QA gate for one line, on the worker that holds the audio: post-process, check, re-synthesize what a new
seed or the fallback engine can fix, and quarantine what still fails — with its reasons.

It needs an engine registry and a store, not a cluster: ``compute.finish`` runs it on the workers, a test runs it
in-process with real engines.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import metrics
from pipeline.audio.encode import decode_wav, encode_wav
from pipeline.audio.process import Processed, process_clip
from pipeline.audio.profiles import Profile
from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry
from pipeline.events import RunTag, line_event
from pipeline.qa import models
from pipeline.qa.asr_pack import transcribe_packed
from pipeline.qa.checks import line_checks, validity
from pipeline.qa.report import stored_media
from pipeline.qa.results import Check, LineQa, overall
from pipeline.settings import QaSettings
from pipeline.storage import keys
from pipeline.storage.store import ObjectStore
from pipeline.text.style import parse_style
from pipeline.voices.plan import Job
from pipeline.voices.speak import reference_file, speak

log = logging.getLogger(__name__)

# Failures another take can fix. Timing overflow (the text is too long for the cue) and loudness (the chain
# sets it) are not: re-synthesizing those only burns GPU time.
RETRYABLE = frozenset({"audio", "clipping", "intelligibility", "speaker_similarity"})


@dataclass(frozen=True)
class Slot:
    cue_s: float | None  # None for narration
    gap_after_s: float | None


@dataclass(frozen=True)
class Gate:
    """What the gate works with besides its lines: the engines for new takes, the store, the profile and the QA
    settings, and for its log events the run (``tag``) and the ``worker`` it runs on."""

    registry: EngineRegistry
    store: ObjectStore
    profile: Profile
    qa: QaSettings
    tag: RunTag | None = None
    worker: str = ""


def slots(jobs: list[Job]) -> dict[str, Slot]:
    """Cue length and the gap to the next cue (same language), for lines the script times."""
    out: dict[str, Slot] = {}
    timed = [j.line for j in jobs if j.line.start is not None and j.line.end is not None]
    timed.sort(key=lambda line: (line.lang, line.start))
    for line, nxt in zip(timed, [*timed[1:], None][: len(timed)], strict=True):
        gap = None if nxt is None or nxt.lang != line.lang else max(0.0, nxt.start - line.end)
        out[line.line_id] = Slot(line.end - line.start, gap)
    return {job.line.line_id: out.get(job.line.line_id, Slot(None, None)) for job in jobs}


def _digest(*identity: Any) -> str:
    return hashlib.sha256(json.dumps(list(identity), default=str).encode()).hexdigest()


def result_key(raw_key: str, job: Job, profile: Profile, qa: QaSettings, slot: Slot) -> str:
    """Where a line's QA result is cached: everything it depends on — the raw clip (text, voice and reference are
    in its key), where the line sits (start, slot, gap), the voice and the reference clip its speaker is checked
    against, the profile and the QA settings."""
    identity = [raw_key, job.line.start, job.voice.id, job.line.spoken_text, profile.model_dump(mode="json")]
    if job.reference_sha256 is not None:  # only then: results cached before references existed stay valid
        identity.append(job.reference_sha256)
    return keys.qa_result_key(_digest(*identity, qa.model_dump(mode="json"), slot.cue_s, slot.gap_after_s))


def _dialect(job: Job) -> str | None:
    return parse_style(job.line.style or job.voice.default_style).dialect


def run_checks(
    p: Processed, job: Job, profile: Profile, qa: QaSettings, reference: Path | None, heard: str | None = None
) -> list[Check]:
    text, lang = job.line.spoken_text, job.line.lang
    checks = line_checks(p.samples, p.rate, p.fit, text, lang, profile)
    if checks[0].verdict == "fail":
        return checks
    if not qa.asr:
        checks.append(Check("intelligibility", "not-checked", detail="qa.asr is off"))
    elif heard is None or (packed := models.heard_check(heard, text, lang, profile)).verdict == "fail":
        asr_models = {**models.default_asr_models(qa.model_cache), **qa.asr_models}
        checks.append(models.intelligibility(p.samples, p.rate, text, lang, asr_models, profile, _dialect(job)))
    else:  # heard packed: a garbled neighbour can shift Whisper's word times, so only a failure is heard again alone
        checks.append(packed)
    if qa.similarity:
        checks.append(models.similarity(p.samples, p.rate, reference, profile))
    else:
        checks.append(Check("speaker_similarity", "not-checked", detail="qa.similarity is off"))
    return checks


Item = tuple[Job, str, str | None, Slot]  # a line, its raw clip's staging key, the engine that made it, its slot
Take = tuple[np.ndarray, int, Processed]  # a take's samples and rate, and the take post-processed


def finish_lines(gate: Gate, items: list[Item]) -> list[LineQa | Exception]:
    """The gate for several lines: every first take post-processed, their ASR packed into shared Whisper windows
    (``asr_pack``), then each line settled on its own (new takes are heard alone). An error is that line's, as an
    exception in its place; the others complete."""
    takes: list[Take | Exception] = []
    for _, raw_key, _, slot in items:
        try:
            samples, rate = decode_wav(gate.store.get_bytes("staging", raw_key))
            takes.append((samples, rate, process_clip(samples, rate, gate.profile, slot.cue_s, slot.gap_after_s)))
        except Exception as exc:
            takes.append(exc)
    ready = [(item[0], take[2]) for item, take in zip(items, takes, strict=True) if not isinstance(take, Exception)]
    heard = _hear_packed(ready, gate.profile, gate.qa)
    results: list[LineQa | Exception] = []
    for item, take in zip(items, takes, strict=True):
        try:
            if isinstance(take, Exception):
                raise take
            results.append(_settle(gate, item, take, heard.get(item[0].line.line_id)))
        except Exception as exc:
            results.append(exc)
    return results


def finish_line(gate: Gate, job: Job, raw_key: str, engine: str | None, slot: Slot) -> LineQa:
    """The gate for one line (raises what went wrong)."""
    (result,) = finish_lines(gate, [(job, raw_key, engine, slot)])
    if isinstance(result, Exception):
        raise result
    return result


def _hear_packed(takes: list[tuple[Job, Processed]], profile: Profile, qa: QaSettings) -> dict[str, str]:
    """Line id → what Whisper heard in its first take, transcribed packed with the batch's other lines of the same
    language and model. Lines that are not heard (no model, a dialect, audio that fails validity) are left out, as
    is everything when packing fails: those lines are then heard alone."""
    if not qa.asr or len(takes) < 2:
        return {}
    asr_models = {**models.default_asr_models(qa.model_cache), **qa.asr_models}
    groups: dict[tuple[str, str], list[tuple[Job, np.ndarray]]] = {}
    for job, p in takes:
        model, _ = models.asr_model(job.line.lang, asr_models, _dialect(job))
        if model and validity(p.samples, p.rate, profile.trim.threshold_db).verdict != "fail":
            groups.setdefault((model, job.line.lang.split("-", 1)[0]), []).append(
                (job, models.at_16k(p.samples, p.rate))
            )
    heard: dict[str, str] = {}
    for (model, lang), members in groups.items():
        try:
            budget = sum(models.token_budget(job.line.spoken_text) for job, _ in members)
            texts = transcribe_packed(
                models.whisper_model(model), [clip for _, clip in members], lang, min(440, budget)
            )
        except Exception as exc:  # heard alone instead
            log.warning("packed ASR of %d %s lines failed, hearing them one by one: %s", len(members), lang, exc)
            continue
        heard.update((job.line.line_id, text) for (job, _), text in zip(members, texts, strict=True))
    return heard


def _settle(gate: Gate, item: Item, take: Take, heard: str | None) -> LineQa:
    (job, raw_key, engine_used, slot), (samples, rate, processed) = item, take
    profile, qa = gate.profile, gate.qa
    reference = reference_file(job.reference, gate.store)
    attempts, spoken_by = 1, {engine_used}
    while True:
        checks = run_checks(processed, job, profile, qa, reference, heard)
        verdict = overall(checks)
        failed = [c for c in checks if c.verdict == "fail"]
        if verdict != "fail" or attempts > qa.max_resynth or not any(c.name in RETRYABLE for c in failed):
            break
        again = _resynthesize(gate, job, attempts, reference, spoken_by)
        if isinstance(again, str):  # no new take could be made: say so, do not pretend the new take failed
            checks.append(Check("resynthesis", "not-checked", detail=again))
            break
        samples, rate, engine_used = again
        spoken_by.add(engine_used)
        processed, heard = process_clip(samples, rate, profile, slot.cue_s, slot.gap_after_s), None
        attempts += 1
    quarantined = verdict == "fail"
    digest = _digest(raw_key, profile.model_dump(mode="json"), slot.cue_s, slot.gap_after_s, attempts)
    key = keys.post_key(digest, "wav")
    wav, metadata = encode_wav(processed.samples, processed.rate), {"line-id": job.line.line_id, "verdict": verdict}
    gate.store.put_bytes("staging", key, wav, content_type="audio/wav", metadata=metadata)
    try:  # the report's plot and player, made here with the clip in memory (the workers check lines in parallel)
        stored_media(gate.store, key, lambda: (processed.samples, processed.rate))
    except Exception as exc:  # the report makes it then
        log.warning("report media of %s: %s", job.line.line_id, exc)
    loud = next((c.value for c in checks if c.name == "loudness"), None)
    return LineQa(
        line_id=job.line.line_id,
        lang=job.line.lang,
        text=job.line.text,
        verdict=verdict,
        checks=checks,
        attempts=attempts,
        quarantined=quarantined,
        reasons=[c.summary() for c in failed] if quarantined else [],  # measured vs wanted, and why
        key=key,
        duration_s=processed.samples.shape[0] / processed.rate,
        loudness=loud,
        true_peak=round(processed.true_peak, 2),
        stretch=processed.fit.stretch,
        engine=engine_used,
        voice=job.voice.id,
        # The clip starts with the profile's head pad: place it that much early so speech starts on the cue.
        start_s=None
        if job.line.start is None
        else max(0.0, job.line.start + processed.fit.offset_s - profile.trim.pad_ms / 1000),
    )


def _take_engines(gate: Gate, job: Job, attempt: int, spoken_by: set[str]) -> list[str]:
    """Who may speak QA's new take: the planned engines, from the second new take those after the first. An engine
    whose takes do not vary (espeak-ng) and that already spoke the line is passed over: a new seed would give it
    the very audio that failed, heard by Whisper once more for nothing."""
    planned = job.engines[1:] if attempt >= 2 and len(job.engines) > 1 else job.engines
    return [n for n in planned if n not in spoken_by or _takes_vary(gate, n)]


def _takes_vary(gate: Gate, engine: str) -> bool:
    try:
        return gate.registry.get(engine).capabilities.takes_vary
    except EngineError:  # not loadable on this worker: speak() says why when it is asked
        return True


def _resynthesize(
    gate: Gate, job: Job, attempt: int, reference: Path | None, spoken_by: set[str]
) -> tuple[np.ndarray, int, str] | str:
    """QA's new take with a new seed (see ``_take_engines`` for by whom). (Not a reviewer's retake, which is a new
    take number and cache key planned before synthesis.)"""
    engines = _take_engines(gate, job, attempt, spoken_by)
    if not engines:
        same = ", ".join(sorted(spoken_by))
        return f"no new take: {same} speaks this line the same way every time, and no other engine is planned for it"
    seed = (job.seed + 7919 * attempt) % 2**32
    # take > 0 also tells engines without a usable seed (Piper) to sample their noise: a new seed alone would
    # give Piper's seeded, noise-free output again, the very audio that just failed.
    try:
        spoken = speak(gate.registry, job, reference, seed=seed, take=job.take + attempt, engines=engines)
    except EngineError as exc:
        metrics.line_failed(engines[0], "resynthesis_error")
        failed = {"engine": engines[0], "worker": gate.worker, "attempt": attempt, "reason": "resynthesis_error"}
        line_event(log, "line resynthesis failed", gate.tag, job.line, logging.WARNING, **failed, error=str(exc))
        return f"re-synthesis {attempt} could not run: {exc}"
    result, request = spoken.result, spoken.request
    metrics.synthesized(result.engine, result.synth_seconds, result.duration, "resynthesis")
    ran = {"engine": result.engine, "worker": gate.worker, "attempt": attempt}
    took = dict(seconds=result.synth_seconds, audio_seconds=result.duration, seed=request.seed, take=request.take)
    line_event(log, "line resynthesis", gate.tag, job.line, **ran, **took)
    return result.samples, result.sample_rate, result.engine
