"""A project lexicon applied to ingested lines: what each line says, hears and records changes; nothing else."""

from __future__ import annotations

from dataclasses import replace

from pipeline.lexicon.model import Lexicon
from pipeline.scripts.ingest import speech_of
from pipeline.scripts.model import Line
from pipeline.text.markup import parse


def with_lexicon(lines: tuple[Line, ...] | list[Line], lexicon: Lexicon, spell_out: bool = True) -> list[Line]:
    """Each line with the lexicon's words replaced (before numbers are spelled out, as ingest does it) and the
    entries it used; lines it does not touch come back as they were."""
    if not lexicon:
        return list(lines)
    out = []
    for line in lines:
        applied, used = lexicon.apply(parse(line.text), line.lang)
        if not used:
            out.append(line)
            continue
        speech, spoken = speech_of(applied, line.lang, spell_out)
        out.append(replace(line, utterance=speech, spoken_text=spoken, lexicon=tuple(e.shown() for e in used)))
    return out
