"""One line + its voice → audio: build the engine request, pick the engine, synthesize.

This is the unit of work the Dask fan-out runs per line; it touches no storage and no global state beyond the
registry it is given (one per worker process).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline.engines.base import SynthesisRequest, SynthesisResult
from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.model import Line
from pipeline.text.markup import parse
from pipeline.text.normalize import normalize
from pipeline.text.style import parse_style
from pipeline.voices.catalog import Catalog, Voice


def build_request(line: Line, voice: Voice, reference: Path | None, seed: int | None = None) -> SynthesisRequest:
    style = parse_style(line.style or voice.default_style)
    return SynthesisRequest(
        utterance=normalize(parse(line.text), line.lang),
        lang=line.lang,
        voice=voice.ref(str(reference) if reference else None),
        style=style,
        seed=seed,
        line_id=line.line_id,
    )


def speak(
    line: Line, catalog: Catalog, registry: EngineRegistry, project: str, seed: int | None = None
) -> tuple[Voice, SynthesisResult]:
    voice = catalog.voice_for_line(project, line.voice, line.lang)
    request = build_request(line, voice, catalog.reference_path(voice), seed)
    choice = registry.choose(request, voice.engine, allow_fallback=voice.fallback)
    result = choice.engine.synthesize(request)
    if choice.fell_back_from:
        note = f"voice {voice.id} is a {choice.fell_back_from} voice; spoken by {choice.engine.name} instead"
        result = replace(result, warnings=(note, *result.warnings))
    return voice, result
