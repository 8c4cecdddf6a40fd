"""Lines → synthesis jobs: each line's voice, engines, seed, shard and content-addressed cache key, planned on the
client without loading any engine.

The key hashes everything that changes the audio: the engines that may speak the line (their fingerprints, known
without loading a model), the voice's content (engine voice, reference clip hash, transcript), the rendered text,
language, style, seed, and a reviewer's retake number. Same key, same clip: a re-run, a retry or a restarted client
reuses it from the cache. Take 0 (every line that was never retaken) hashes exactly as before takes existed, so
caches made before them stay valid.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.digest import file_digest
from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.model import Line
from pipeline.settings import ShardSettings
from pipeline.text.markup import render
from pipeline.text.style import parse_style
from pipeline.voices.catalog import Catalog, Voice

CACHE_SCHEMA = "dubflow.synthesis/1"


@dataclass(frozen=True)
class Job:
    """One line's synthesis, everything a worker needs and nothing it must look up."""

    line: Line
    voice: Voice
    reference: str | None  # local path or s3:// URI of the voice's reference clip
    seed: int
    engines: tuple[str, ...]  # candidates in order; the first that can speak the line does
    cache_key: str
    gpu: bool  # the first candidate runs on a GPU worker
    take: int = 0  # the reviewer's retake number; 0 = the original take
    shard: str | None = None  # the worker resource a GPU line needs besides GPU (dask.shards)
    reference_sha256: str | None = None  # the reference clip's content (QA's speaker check depends on it)


@dataclass(frozen=True)
class PlanFailure:
    line: Line
    error: str


@dataclass(frozen=True)
class Run:
    """What one run asks of the plan besides its lines."""

    reference_digest: Callable[[str], str] | None = None  # s3:// reference → content hash; None: unknown
    takes: Mapping[str, int] = field(default_factory=dict)  # line id → retake number; absent = take 0
    engine: str | None = None  # an override: this engine only, for every line
    max_chars: int | None = None  # synthesis.max_line_chars: a longer line never reaches a worker
    shards: Sequence[ShardSettings] = ()  # dask.shards: GPU lines of a project or voice pinned to some workers


def line_seed(base: int, line_id: str, take: int = 0) -> int:
    """A per-line seed that is stable across runs and machines (and differs between lines). A retake (take > 0)
    gets its own seed from (line_id, take); take 0 keeps the original formula, so existing caches stay valid."""
    if take < 0:
        raise ValueError(f"line {line_id}: take must be >= 0, not {take}")
    material = f"{base}:{line_id}" if take == 0 else f"{base}:{line_id}:take={take}"
    return int.from_bytes(hashlib.sha256(material.encode()).digest()[:4], "big")


def plan_jobs(
    lines: list[Line], catalog: Catalog, project: str, registry: EngineRegistry, base_seed: int, run: Run = Run()
) -> tuple[list[Job], list[PlanFailure]]:
    engine, max_chars = run.engine, run.max_chars
    jobs: list[Job] = []
    failures: list[PlanFailure] = []
    for line in lines:
        where = f"line {line.line_id} (source line {line.source_line})"
        if max_chars is not None and len(line.spoken_text) > max_chars:
            too_long = f"{len(line.spoken_text):,} characters to speak; synthesis.max_line_chars is {max_chars:,}"
            failures.append(PlanFailure(line, f"{where} has {too_long}"))
            continue
        try:
            voice = catalog.voice_for_line(project, line.voice, line.lang)
        except KeyError as exc:
            failures.append(PlanFailure(line, str(exc.args[0] if exc.args else exc)))
            continue
        if engine is not None and engine != voice.engine:
            # The catalog voice's engine-specific parts (a Piper model, a speaker id) mean nothing to another
            # engine: it speaks the line with its own default voice for the language (or the reference clip).
            voice = voice.model_copy(update={"engine": engine, "engine_voice": None, "speaker_id": None})
        engines = [engine] if engine is not None else registry.order(line.lang, voice.engine)
        if not voice.fallback:
            engines = engines[:1]
        available = registry.available()
        candidates, engines = engines, tuple(n for n in engines if n in available and registry.speaks(n, line.lang))
        if not engines:
            why = "; ".join(f"{n}: {'no voice for it' if n in available else 'not available'}" for n in candidates)
            speaks = f"no enabled engine speaks language '{line.lang}' with voice {voice.id}"
            failures.append(PlanFailure(line, f"{where}: {speaks} (tried: {why or 'none configured'})"))
            continue
        reference = _reference(catalog, voice)
        if registry.clones(engines[0]) and (reference is None or not (voice.reference_text or "").strip()):
            missing = "reference clip" if reference is None else "prompt transcript"
            enroll = "enroll it (dubflow voices enroll, or the dubflow_voice_enrollment DAG)"
            failures.append(PlanFailure(line, f"{where}: voice {voice.id} has no {missing}: {enroll}"))
            continue
        try:
            ref_digest = None
            if reference is not None and not reference.startswith("s3://"):
                ref_digest = file_digest(Path(reference))
            elif reference is not None and run.reference_digest:
                ref_digest = run.reference_digest(reference)
            fingerprints = [(name, registry.fingerprint(name)) for name in engines]
            # An engine with voices of its own never hears the reference (it is there for QA's speaker check):
            # enrolling a CPU voice, or correcting its transcript, must not re-voice its lines.
            heard_voice = voice if any(registry.clones(n) for n in engines) else _without_reference(voice)
        except (OSError, EngineError, KeyError) as exc:  # a missing reference clip or model: this line cannot run
            failures.append(PlanFailure(line, f"line {line.line_id}: {exc}"))
            continue
        take = run.takes.get(line.line_id, 0)
        seed = line_seed(base_seed, line.line_id, take)
        key = cache_key(line, heard_voice, ref_digest if heard_voice is voice else None, seed, fingerprints, take)
        gpu, shard = registry.needs_gpu(engines[0]), shard_for(run.shards, project, voice.id)
        jobs.append(Job(line, voice, reference, seed, engines, key, gpu, take, shard, ref_digest))
    return jobs, failures


def cache_key(
    line: Line, voice: Voice, reference_sha256: str | None, seed: int, engines: list[tuple[str, str]], take: int = 0
) -> str:
    style = parse_style(line.style or voice.default_style)
    identity = {
        "schema": CACHE_SCHEMA,
        "engines": engines,
        "voice": {
            "engine_voice": voice.engine_voice,
            "speaker_id": voice.speaker_id,
            "reference_sha256": reference_sha256,
            "reference_text": voice.reference_text,
            "reference_lang": voice.reference_lang or voice.languages[0],
        },  # what the engine receives
        "text": render(line.speech()),
        "lang": line.lang,
        "style": {k: v for k, v in asdict(style).items() if k != "warnings"},
        "seed": seed,
    }
    if take:  # only retakes carry it: take-0 keys are byte-identical to the keys made before takes existed
        identity["take"] = take
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def shard_for(shards: Sequence[ShardSettings], project: str, voice: str) -> str | None:
    """The worker resource a GPU line of ``voice`` in ``project`` needs (``dask.shards``); a voice rule wins over a
    project rule."""
    for rule in shards:
        if voice in rule.voices:
            return rule.resource
    for rule in shards:
        if project in rule.projects:
            return rule.resource
    return None


def _without_reference(voice: Voice) -> Voice:
    return voice.model_copy(update={"reference": None, "reference_text": None, "reference_lang": None})


def _reference(catalog: Catalog, voice: Voice) -> str | None:
    if voice.reference is None:
        return None
    if voice.reference.startswith("s3://"):
        return voice.reference
    path = catalog.reference_path(voice)
    return str(path) if path is not None else None
