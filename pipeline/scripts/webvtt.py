"""WebVTT (``.vtt``) → cues, as the W3C spec and browsers read it.

Blocks are separated by blank lines; ``NOTE``, ``STYLE`` and ``REGION`` blocks are not cues; a cue is an optional
identifier, a timing line (cue settings may follow the end time with or without a space, as browsers accept)
and its payload, which ends at a blank line or at the next line holding ``-->``. In the payload, ``<c>``,
``<i>``, ``<b>``, ``<u>``, ``<lang>`` and ``<ruby>`` are styling (``<rt>`` readings are dropped), karaoke
timestamps ``<00:17.500>`` are not text, character references are decoded, and every ``<v Speaker>`` span is a
segment of its own, so a cue that holds two voices gives two lines.
"""

from __future__ import annotations

import re

from pipeline.scripts.cues import Cue, Segment, decode_entities
from pipeline.scripts.model import Report
from pipeline.scripts.subrip import read_stamps
from pipeline.scripts.timecode import CUE_STAMP
from pipeline.text.markup import is_markup_tag

_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_TIMING = re.compile(rf"^\s*({CUE_STAMP})[ \t]*-->[ \t]*({CUE_STAMP})(.*)$")
_NOT_A_CUE = re.compile(r"^(?:NOTE|STYLE|REGION)(?:[ \t].*)?$")
_TOKEN = re.compile(r"<([^<>\n]*)>")
_KARAOKE = re.compile(rf"^{CUE_STAMP}$")


def _blocks(lines: list[str], first: int) -> list[list[tuple[int, str]]]:
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines[first:], start=first + 1):
        if line.strip():
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def parse_vtt(text: str, report: Report) -> list[Cue]:
    lines = text.split("\n")
    has_header = bool(lines) and bool(_HEADER.match(lines[0].strip()))
    if not has_header:
        if not any(_TIMING.match(line) for line in lines):
            return []  # not WebVTT at all: the caller reports it
        report.warning(1, "missing-header", "a WebVTT file starts with 'WEBVTT'; read anyway")
    first = 0
    if has_header:  # the header runs to the first blank line, unless a cue starts without one
        first = 1
        while first < len(lines) and lines[first].strip() and "-->" not in lines[first]:
            first += 1
    cues: list[Cue] = []
    for block in _blocks(lines, first):
        if _NOT_A_CUE.match(block[0][1]):
            continue
        timing_at = [k for k, (_, line) in enumerate(block) if "-->" in line]
        if not timing_at:
            report.warning(block[0][0], "outside-cue", "text outside any cue is not read (a cue needs a timing line)")
            continue
        if timing_at[0] > 1:
            report.warning(block[0][0], "outside-cue", "lines before the cue's timing line are not read")
        for k, at in enumerate(timing_at):
            number, line = block[at]
            payload = [ln for _, ln in block[at + 1 : timing_at[k + 1] if k + 1 < len(timing_at) else None]]
            match = _TIMING.match(line)
            if match is None:
                report.error(number, "bad-timing", f"malformed cue timing line: '{line.strip()}'")
                continue
            times = read_stamps(match, number, report, ".", hours_optional=True)
            if times is not None:
                cues.append(Cue(number, times[0], times[1], cue_segments("\n".join(payload))))
    return cues


def cue_segments(payload: str) -> list[Segment]:
    """Cue text → one segment per ``<v>`` voice (and one for text outside any), styling and readings removed."""
    segments: list[Segment] = [Segment("")]
    langs: list[str | None] = []
    segment_langs: list[set[str | None]] = [set()]
    in_rt = False

    def start(speaker: str | None) -> None:
        if segments[-1].text.strip() or segments[-1].speaker is not None:
            segments.append(Segment(""))
            segment_langs.append(set())
        segments[-1].speaker = speaker

    pos = 0
    for match in _TOKEN.finditer(payload):
        if not in_rt:
            piece = payload[pos : match.start()]
            segments[-1].text += decode_entities(piece)
            if piece.strip():
                segment_langs[-1].add(langs[-1] if langs else None)
        pos = match.end()
        tag = match.group(1).strip()
        name = re.split(r"[\s.]", tag.lstrip("/"), maxsplit=1)[0].lower()
        if is_markup_tag(match.group(0)):
            if not in_rt:
                segments[-1].text += match.group(0)
        elif _KARAOKE.match(tag):
            continue
        elif name == "v" and not tag.startswith("/"):
            annotation = tag.split(None, 1)[1].strip() if len(tag.split(None, 1)) > 1 else ""
            start(decode_entities(annotation) or None)
        elif tag == "/v":
            start(None)
        elif name == "rt":
            in_rt = not tag.startswith("/")
        elif name == "ruby" and tag.startswith("/"):
            in_rt = False
        elif name == "lang":
            if tag.startswith("/"):
                if langs:
                    langs.pop()
            else:
                langs.append(tag.split(None, 1)[1].strip() if len(tag.split(None, 1)) > 1 else None)
        # any other tag (<c>, <i>, <b>, <u>, <ruby>, unknown ones) is styling: dropped, its text kept
    if not in_rt:
        piece = payload[pos:]
        segments[-1].text += decode_entities(piece)
        if piece.strip():
            segment_langs[-1].add(langs[-1] if langs else None)
    out: list[Segment] = []
    for segment, found in zip(segments, segment_langs, strict=True):
        if segment.text.strip():
            segment.text = "\n".join(line.strip() for line in segment.text.split("\n") if line.strip())
            segment.lang = next(iter(found)) if len(found) == 1 else None
            out.append(segment)
    return out
