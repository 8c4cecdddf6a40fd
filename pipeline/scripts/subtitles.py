"""Subtitle files (SRT, WebVTT, ASS/SSA) → raw lines, parsed by pysubs2.

pysubs2 drops any HTML-like tag it does not know, which would eat our ``<break>``/``<strong>`` markup and VTT's
``<v Speaker>``; those tags are swapped for private-use placeholders before parsing and restored after.
pysubs2 keeps no source positions, so cues are matched, in order, to the timing lines found in the text.
"""

from __future__ import annotations

import re

import pysubs2

from pipeline.scripts.model import RawLine, Report
from pipeline.scripts.segment import join_lines

FORMATS = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa"}

_PROTECT = re.compile(r"<(?:/?(?:strong|laughter)|break\b[^>]*|v(?:\.[^\s>]*)?\s+[^>]+|/v)>", re.IGNORECASE)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_STAMP = r"(?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3}"
_TIMING = re.compile(rf"^\s*{_STAMP}\s*-->\s*{_STAMP}(?:\s|$)")
_SPEAKER_PREFIX = re.compile(r"^([A-Z][A-Z0-9 ._'-]{0,39}):\s+(\S.*)$", re.DOTALL)
_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]+)>$", re.IGNORECASE)


def _cue_lines(text: str, fmt: str, report: Report) -> list[int]:
    """1-based line numbers of each cue's timing/Dialogue line; malformed timing lines are reported."""
    found: list[int] = []
    in_events = False
    for number, line in enumerate(text.split("\n"), start=1):
        if fmt in ("ass", "ssa"):
            if line.strip().startswith("["):
                in_events = line.strip().lower() == "[events]"
            elif in_events and re.match(r"^\s*(Dialogue|Comment)\s*:", line):
                found.append(number)
        elif "-->" in line:
            if _TIMING.match(line):
                found.append(number)
            else:
                report.error(number, "bad-timing", f"malformed cue timing line: '{line.strip()}'")
    return found


def parse_subtitles(text: str, suffix: str, report: Report, speakers: frozenset[str] = frozenset()) -> list[RawLine]:
    fmt = FORMATS[suffix]
    protected: list[str] = []

    def protect(match: re.Match[str]) -> str:
        protected.append(match.group(0))
        return f"\ue000{len(protected) - 1}\ue001"

    try:
        subs = pysubs2.SSAFile.from_string(_PROTECT.sub(protect, text), format_=fmt)
    except Exception as exc:  # pysubs2 raises a variety of types for unreadable files
        report.error(None, "unreadable", f"not a readable {fmt.upper()} file: {exc}")
        return []
    positions = _cue_lines(text, fmt, report)
    if len(positions) != len(subs.events):
        report.warning(None, "cue-positions", "could not match cues to source lines; line numbers are approximate")
    raw: list[RawLine] = []
    for i, event in enumerate(subs.events):
        source_line = positions[i] if i < len(positions) else (positions[-1] if positions else 1)
        if event.is_comment:
            continue
        body = event.plaintext
        if fmt in ("srt", "vtt"):
            body = body.split("\n\n", 1)[0]  # a blank line ends a cue; pysubs2 glues malformed cues on
        voice: list[str] = []

        def restore(match: re.Match[str], voice: list[str] = voice) -> str:
            tag = protected[int(match.group(1))]
            if v := _VOICE.match(tag):
                voice.append(v.group(1).strip())
                return ""
            return "" if tag.lower() == "</v>" else tag

        spoken = join_lines(_PLACEHOLDER.sub(restore, body).split("\n"))[0]
        speaker = event.name.strip() or (voice[0] if voice else None)
        if speaker is None:
            speaker, spoken = _speaker_prefix(spoken, speakers)
        raw.append(
            RawLine(
                source_line=source_line,
                text=spoken,
                speaker=speaker,
                start=event.start / 1000,
                end=event.end / 1000,
            )
        )
    return raw


def _speaker_prefix(text: str, speakers: frozenset[str]) -> tuple[str | None, str]:
    """``MAYA: Hi`` → (``MAYA``, ``Hi``); with a voice map, ``张三：你好`` works for any known name too."""
    if m := _SPEAKER_PREFIX.match(text):
        return m.group(1).strip(), m.group(2)
    for name in speakers:
        for colon in (":", "："):
            if text.startswith(name + colon):
                return name, text[len(name) + 1 :].lstrip()
    return None, text
