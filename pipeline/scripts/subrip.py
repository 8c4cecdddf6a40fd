"""SubRip (``.srt``) → cues, read the way players read it.

A cue starts at its timing line and runs to the next cue's number and timing line, so a blank line inside a cue
does not cut it short (the second half is kept, with a warning), and a cue number is only a number in front of
a timing line. Timestamps are read leniently (see ``timecode.parse_cue_stamp``) and each leniency is reported.
pysubs2 is not used here because it keeps no source positions and takes any line with two timestamps as a
timing line; it stays the reference for timings in the tests.
"""

from __future__ import annotations

import re

from pipeline.scripts.cues import Cue, Segment, decode_entities, strip_styling
from pipeline.scripts.model import Report
from pipeline.scripts.timecode import CUE_STAMP, TimecodeError, parse_cue_stamp

_TIMING = re.compile(rf"^\s*({CUE_STAMP})\s*-->\s*({CUE_STAMP})(?:\s.*)?$")
_INDEX = re.compile(r"^\s*\d+\s*$")


def read_stamps(
    match: re.Match[str], number: int, report: Report, separator: str, hours_optional: bool
) -> tuple[float, float] | None:
    """Start and end of a timing line; an error (and None) when a stamp is out of range, one warning for the
    leniencies of both."""
    times: list[float] = []
    lenient: list[str] = []
    for stamp in (match.group(1), match.group(2)):
        try:
            seconds, notes = parse_cue_stamp(stamp, separator, hours_optional)
        except TimecodeError as exc:
            report.error(number, "bad-timing", str(exc))
            return None
        times.append(seconds)
        lenient += [n for n in notes if n not in lenient]
    if lenient:
        report.warning(number, "lenient-timecode", f"timecode read leniently ({', '.join(lenient)})")
    return times[0], times[1]


def parse_srt(text: str, report: Report) -> list[Cue]:
    lines = text.split("\n")
    timings: list[tuple[int, tuple[float, float] | None]] = []  # (index in lines, times or None when broken)
    for i, line in enumerate(lines):
        if "-->" not in line:
            continue
        match = _TIMING.match(line)
        if match is None:
            report.error(i + 1, "bad-timing", f"malformed cue timing line: '{line.strip()}'")
            timings.append((i, None))
        else:
            timings.append((i, read_stamps(match, i + 1, report, ",", hours_optional=False)))
    if not timings:
        return []
    leading = [ln for ln in lines[: timings[0][0]] if ln.strip()]
    if leading and not (len(leading) == 1 and _INDEX.match(leading[0])):
        report.warning(1, "outside-cue", "text before the first cue is not read")
    cues: list[Cue] = []
    for k, (i, times) in enumerate(timings):
        end = timings[k + 1][0] if k + 1 < len(timings) else len(lines)
        body = lines[i + 1 : end]
        if k + 1 < len(timings) and body and _INDEX.match(body[-1]):
            body = body[:-1]  # the next cue's number
        while body and not body[-1].strip():
            body.pop()
        if times is None:
            continue
        kept = [(i + 2 + j, ln) for j, ln in enumerate(body) if ln.strip()]
        if len(kept) < len(body):
            gap = next(i + 2 + j for j, ln in enumerate(body) if not ln.strip())
            report.warning(gap, "blank-line-in-cue", "blank line inside a cue: the text after it is kept in the cue")
        payload = "\n".join(decode_entities(strip_styling(ln.strip())) for _, ln in kept)
        cues.append(Cue(i + 1, times[0], times[1], [Segment(payload)]))
    return cues
