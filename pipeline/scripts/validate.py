"""Checks across lines: timing, speakers, ids. Each reports into the file's ``Report``; none stops early."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipeline.scripts.model import RawLine, Report
from pipeline.settings import IngestSettings

DEFAULT_VOICE_KEY = "*"


def check_timing(lines: Sequence[RawLine], report: Report, settings: IngestSettings) -> None:
    previous: RawLine | None = None
    for line in lines:
        if not line.timing_ok:
            continue
        if line.start is None:
            if line.end is not None:
                report.error(line.source_line, "end-without-start", "line has an end time but no start time")
            continue
        if line.end is not None and line.end <= line.start:
            report.error(
                line.source_line, "end-before-start", f"end {line.end:.3f}s is not after start {line.start:.3f}s"
            )
        if previous is not None and previous.start is not None:
            if line.start < previous.start:
                report.add(
                    settings.out_of_order,
                    line.source_line,
                    "out-of-order",
                    f"starts at {line.start:.3f}s, before line {previous.source_line} does ({previous.start:.3f}s)",
                )
            elif previous.end is not None and line.start < previous.end:
                report.add(
                    settings.overlap,
                    line.source_line,
                    "overlap",
                    f"starts at {line.start:.3f}s, before line {previous.source_line} ends ({previous.end:.3f}s)",
                )
        previous = line


def resolve_voice(line: RawLine, voice_map: Mapping[str, str | None] | None, report: Report) -> str | None:
    """The line's own voice, else its speaker's from the map; with a map, an unmapped speaker is an error."""
    if line.voice or voice_map is None:
        return line.voice
    if line.speaker is not None and line.speaker in voice_map:
        return voice_map[line.speaker]
    if DEFAULT_VOICE_KEY in voice_map:
        return voice_map[DEFAULT_VOICE_KEY]
    known = ", ".join(sorted(k for k in voice_map if k != DEFAULT_VOICE_KEY)) or "none"
    if line.speaker is None:
        report.error(
            line.source_line,
            "no-speaker",
            f"line has no speaker or voice and the voice map has no '*' default (speakers: {known})",
        )
    else:
        report.error(line.source_line, "unknown-speaker", f"unknown speaker '{line.speaker}' (voice map has: {known})")
    return None


def check_unique_ids(ids: Sequence[tuple[str, int]], report: Report) -> None:
    first_seen: dict[str, int] = {}
    for line_id, source_line in ids:
        if line_id in first_seen:
            report.error(source_line, "duplicate-id", f"line_id '{line_id}' already used at line {first_seen[line_id]}")
        else:
            first_seen[line_id] = source_line
