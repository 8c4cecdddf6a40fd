"""What every subtitle format hands on: timed cues of text, each turned into the lines to be spoken.

A cue may hold more than one speaker (WebVTT ``<v>`` spans, ``- MAYA: …`` / ``- THEO: …`` lines): each speaker
becomes a line of its own, in order, and the cue's slot is shared between them by the length of what each says,
so their clips do not play on top of each other. Speaker labels and sound descriptions are taken out here, before
the slot is shared, because only what is spoken should claim time.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from pipeline.scripts import sounds
from pipeline.scripts.model import RawLine, Report
from pipeline.scripts.segment import join_lines, spoken_length
from pipeline.text.markup import ESCAPABLE, is_markup_tag

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")
_STYLING = re.compile(r"</?[A-Za-z][^<>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")


@dataclass
class Segment:
    text: str  # physical lines joined with "\n", our markup kept
    speaker: str | None = None  # from the format itself (<v>, an ASS Name)
    lang: str | None = None  # a language the format marks (<lang fr>)


@dataclass
class Cue:
    source_line: int  # the timing line (or Dialogue line)
    start: float
    end: float
    segments: list[Segment] = field(default_factory=list)


def decode_entities(text: str) -> str:
    """``&amp;`` ``&lt;`` ``&nbsp;`` … decoded; a character that is our markup comes back escaped (``\\<``)."""
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: "".join("\\" + c if c in ESCAPABLE else c for c in html.unescape(m.group(0))), text)


def strip_styling(text: str) -> str:
    """HTML-like styling tags (``<i>``, ``<font …>``) and ASS override blocks (``{\\an8}``) removed; ours kept."""
    text = _ASS_OVERRIDE.sub("", text)
    return _STYLING.sub(lambda m: m.group(0) if is_markup_tag(m.group(0)) else "", text)


def _parts(segment: Segment, speakers: frozenset[str]) -> list[Segment]:
    """A segment without a speaker from its format, split where a physical line starts with a speaker label."""
    if segment.speaker is not None:
        return [segment]
    parts: list[Segment] = []
    for physical in segment.text.split("\n"):
        speaker, rest = sounds.leading_label(physical, speakers)
        if speaker is not None or not parts:
            parts.append(Segment(rest, speaker, segment.lang))
        else:
            parts[-1].text += "\n" + rest
    return parts


def cues_to_raw(cues: list[Cue], report: Report, speakers: frozenset[str], mode: sounds.SoundMode) -> list[RawLine]:
    out: list[RawLine] = []
    for cue in cues:
        spoken: list[tuple[Segment, str]] = []
        for part in (p for segment in cue.segments for p in _parts(segment, speakers)):
            text = join_lines(part.text.split("\n"))[0]
            cleaned = sounds.clean(text, mode)
            for severity, code, message in cleaned.notes:
                report.add(severity, cue.source_line, code, message)  # type: ignore[arg-type]
            if cleaned.text.strip():
                spoken.append((part, cleaned.text))
        if not spoken and not any(segment.text.strip() for segment in cue.segments):
            report.warning(cue.source_line, "empty-cue", "cue has no text: nothing to say")
        spoken = _merge_same_speaker(spoken)
        if len(spoken) > 1:
            names = ", ".join(p.speaker or "no speaker" for p, _ in spoken)
            report.warning(
                cue.source_line,
                "shared-slot",
                f"cue holds {len(spoken)} speakers ({names}): its {cue.end - cue.start:.2f} s slot is shared "
                "between them by the length of what each says",
            )
        weights = [max(1, spoken_length(text)) for _, text in spoken]
        total, done = sum(weights), 0
        for (part, text), weight in zip(spoken, weights, strict=True):
            start = cue.start + (cue.end - cue.start) * done / total
            done += weight
            end = cue.start + (cue.end - cue.start) * done / total
            out.append(RawLine(cue.source_line, text, speaker=part.speaker, start=start, end=end, lang=part.lang))
    return out


def _merge_same_speaker(spoken: list[tuple[Segment, str]]) -> list[tuple[Segment, str]]:
    merged: list[tuple[Segment, str]] = []
    for part, text in spoken:
        if merged and merged[-1][0].speaker == part.speaker and merged[-1][0].lang == part.lang:
            merged[-1] = (merged[-1][0], join_lines([merged[-1][1], text])[0])
        else:
            merged.append((part, text))
    return merged
