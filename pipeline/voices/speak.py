"""A planned line → audio: the one engine-choice policy and the one reference-clip fetch.

Workers (``compute.tasks``), the QA gate's re-synthesis, ``dubflow voices preview`` and the benchmarks all speak
through ``speak``, so a benchmark measures what production runs. It touches no storage beyond fetching an s3://
reference clip once per process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TypedDict, Unpack

from pipeline.engines.base import Engine, SynthesisRequest, SynthesisResult, UnsupportedInputError
from pipeline.engines.registry import EngineRegistry, NoEngineError
from pipeline.text.style import parse_style
from pipeline.voices.plan import Job

REFERENCE_CACHE = Path("var/cache/references")  # s3:// reference clips, content-addressed, once per machine


class Fetcher(Protocol):
    def fetch_uri(self, uri: str, cache_dir: Path) -> Path: ...


def reference_file(reference: str | None, store: Fetcher | None = None) -> Path | None:
    """A voice's reference clip as a local file; an s3:// reference is fetched (once) from ``store``."""
    if reference is None:
        return None
    if not reference.startswith("s3://"):
        return Path(reference)
    if store is None:
        raise ValueError(f"reference {reference} is in object storage and no store was given")
    return store.fetch_uri(reference, REFERENCE_CACHE)


class Retake(TypedDict, total=False):
    """How a take differs from the planned one (each defaults to the job's): a worker's new seed, the QA gate's new
    take and its fallback engines."""

    seed: int | None
    take: int | None
    engines: tuple[str, ...] | None


def build_request(job: Job, reference: Path | None, **retake: Unpack[Retake]) -> SynthesisRequest:
    """``job``'s request with its seed and take (``engines`` are for ``choose``)."""
    line, voice, seed, take = job.line, job.voice, retake.get("seed"), retake.get("take")
    ref, style = voice.ref(str(reference) if reference else None), parse_style(line.style or voice.default_style)
    seed, take = job.seed if seed is None else seed, job.take if take is None else take
    return SynthesisRequest(line.speech(), line.lang, ref, style, seed=seed, line_id=line.line_id, take=take)


def choose(
    registry: EngineRegistry, request: SynthesisRequest, engines: tuple[str, ...], voice_engine: str | None = None
) -> tuple[Engine, str | None, SynthesisRequest]:
    """The first planned engine that can speak the request, and the request as that engine must get it. Only
    "cannot speak this" moves on to the next one: an engine that fails to load fails the line (it is retried on
    another worker), so a clip is never made by an engine the plan did not expect in that position. An engine other
    than the voice's own (default: the first) does not get the voice's engine-specific voice name (a Piper model
    name means nothing to espeak). A voice of a non-cloning engine has its reference clip for QA's speaker check
    only: no engine gets it; a cloning voice's clip still goes to a fallback, which says it cannot clone."""
    own = voice_engine or engines[0]
    reasons = []
    for name in engines:
        engine = registry.get(name)  # EngineError (load failure) propagates
        candidate = request if name == own else replace(request, voice=replace(request.voice, engine_voice=None))
        if not engine.capabilities.cloning and not registry.clones(own):  # the clip is QA's reference, no prompt
            candidate = replace(candidate, voice=replace(candidate.voice, reference_wav=None, reference_text=None))
        try:
            engine.check(candidate)
        except UnsupportedInputError as exc:
            reasons.append(f"{name}: {exc}")
            continue
        return engine, (own if name != own else None), candidate
    raise NoEngineError(f"line {request.line_id}: no planned engine can speak it ({'; '.join(reasons)})")


@dataclass(frozen=True)
class Spoken:
    result: SynthesisResult  # its warnings say when a fallback engine spoke
    engine: Engine
    request: SynthesisRequest  # as the engine got it (seed, take)


def speak(registry: EngineRegistry, job: Job, reference: Path | None, **retake: Unpack[Retake]) -> Spoken:
    """Speak ``job`` with the first of ``engines`` (default: the planned ones) that can."""
    request = build_request(job, reference, **retake)
    engine, fell_back_from, request = choose(registry, request, retake.get("engines") or job.engines, job.engines[0])
    result = engine.synthesize(request)
    if fell_back_from:
        note = f"voice {job.voice.id} is a {fell_back_from} voice; spoken by {engine.name}"
        result = replace(result, warnings=(note, *result.warnings))
    return Spoken(result, engine, request)
