"""Audition: one catalog voice speaking a given sentence, before any run, so a studio can cast. ``dubflow voices
preview`` and the review page's audition panel both come here; it speaks through ``speak`` like every line does,
with the voice's own engine only (a fallback would not be that voice)."""

from __future__ import annotations

from pipeline.engines.base import SynthesisResult
from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.ingest import speech_of
from pipeline.scripts.model import Line
from pipeline.text import lang as langs
from pipeline.text.markup import parse
from pipeline.voices.catalog import Catalog
from pipeline.voices.plan import Job
from pipeline.voices.speak import Fetcher, reference_file, speak

MAX_CHARS = 300  # one sentence or two: an audition, not a script


class AuditionError(ValueError):
    """The request cannot be auditioned (unknown voice, a language it does not speak, too long, bad markup)."""


def audition(registry: EngineRegistry, catalog: Catalog, voice_id: str, text: str, lang: str | None = None,
             style: str | None = None, seed: int | None = None,
             store: Fetcher | None = None) -> SynthesisResult:  # fmt: skip
    """The voice saying ``text`` (markup allowed; numbers spelled out as in a run). Raises ``AuditionError`` for a
    request that cannot be right, ``EngineError`` when the voice's engine cannot load or speak."""
    if not text.strip():
        raise AuditionError("nothing to say")
    if len(text) > MAX_CHARS:
        raise AuditionError(f"{len(text)} characters; an audition takes at most {MAX_CHARS}")
    try:
        voice = catalog.voice(voice_id)
    except KeyError as exc:
        raise AuditionError(exc.args[0]) from None
    try:
        language = langs.normalize_tag(lang) if lang else langs.detect(text, voice.languages[0])
        said = parse(text)
    except ValueError as exc:  # MarkupError, a bad language tag
        raise AuditionError(str(exc)) from None
    if not voice.speaks(language):
        raise AuditionError(f"voice {voice.id} speaks {', '.join(voice.languages)}, not {language}")
    speech, spoken = speech_of(said, language, True)
    line = Line("audition", "audition", 0, 1, text, spoken, "", language, voice=voice.id, style=style, utterance=speech)
    job = Job(line, voice, None, seed or 0, (voice.engine,), cache_key="", gpu=False)  # this voice, no other
    reference = catalog.reference_path(voice)
    if voice.reference is not None and voice.reference.startswith("s3://"):  # an enrolled clip: cloning needs it
        try:
            reference = reference_file(voice.reference, store)
        except ValueError as exc:
            raise AuditionError(f"voice {voice.id}: {exc}") from None
    return speak(registry, job, reference, seed=seed).result
