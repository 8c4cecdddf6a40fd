"""Subtitle files (SRT, WebVTT, ASS/SSA) → raw lines: one reader per format, then what all of them share.

Each reader turns its format into timed cues (``cues.Cue``); speaker labels, sound descriptions and cues that
hold several speakers are handled once for all of them in ``cues.cues_to_raw``. A file in which no cue can be
found is not a subtitle file, whatever its name says.
"""

from __future__ import annotations

from pipeline.scripts import cues as cue_lines
from pipeline.scripts.formats import FORMATS
from pipeline.scripts.model import RawLine, Report
from pipeline.scripts.sounds import SoundMode
from pipeline.scripts.subrip import parse_srt
from pipeline.scripts.substation import parse_ass
from pipeline.scripts.webvtt import parse_vtt

_EXPECTED = {
    "srt": "numbered cues with timing lines such as '00:00:01,000 --> 00:00:02,500'",
    "vtt": "'WEBVTT' and cues with timing lines such as '00:01.000 --> 00:02.500'",
    "ass": "[Script Info] and [Events] sections with Dialogue lines",
    "ssa": "[Script Info] and [Events] sections with Dialogue lines",
}


def parse_subtitles(
    text: str, suffix: str, report: Report, speakers: frozenset[str] = frozenset(), sounds: SoundMode = "drop"
) -> list[RawLine]:
    fmt = FORMATS[suffix].name
    if fmt == "srt":
        found = parse_srt(text, report)
    elif fmt == "vtt":
        found = parse_vtt(text, report)
    else:
        parsed = parse_ass(text, fmt, report)
        if parsed is None:
            return []
        found = parsed
    if not found and not report.has_errors:
        report.error(None, "not-a-subtitle-file", f"no {fmt.upper()} cue found (expected {_EXPECTED[fmt]})")
    return cue_lines.cues_to_raw(found, report, speakers, sounds)
