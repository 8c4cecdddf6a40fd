"""SubStation Alpha (``.ass``, ``.ssa``) → cues, parsed by pysubs2.

What players do and pysubs2 does not: vector drawings (``{\\p1}m 0 0 l …{\\p0}``) are shapes, not text; a style
line pysubs2 cannot read (a malformed colour) is dropped with a warning instead of losing the whole file; the
placeholder actor old SSA editors wrote into every line (``NTP``) is nobody. pysubs2 keeps no source positions,
so cues are matched, in order, to the ``Dialogue:``/``Comment:`` lines of the ``[Events]`` section.
"""

from __future__ import annotations

import re
import warnings

import pysubs2

from pipeline.scripts.cues import Cue, Segment
from pipeline.scripts.model import Report

PLACEHOLDER_ACTORS = frozenset({"ntp", "*default"})
_OVERRIDE = re.compile(r"\{([^{}]*)\}")
_DRAWING = re.compile(r"\\p(\d+)")
_EVENT = re.compile(r"^\s*(Dialogue|Comment)\s*:", re.IGNORECASE)
_STYLE = re.compile(r"^\s*Style\s*:", re.IGNORECASE)


def _section_lines(text: str) -> tuple[list[int], list[int]]:
    """1-based numbers of the style lines and of the event lines, by section."""
    styles: list[int] = []
    events: list[int] = []
    section = ""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped.lower()
        elif "styles" in section and _STYLE.match(line):
            styles.append(number)
        elif section == "[events]" and _EVENT.match(line):
            events.append(number)
    return styles, events


def _from_string(text: str, fmt: str, report: Report | None = None) -> pysubs2.SSAFile:
    """pysubs2's reading; what it only warns about (a field it replaced by its default) is reported, not printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    if report is not None:
        for message in dict.fromkeys(str(w.message) for w in caught):
            report.warning(None, "bad-field", f"{message} (pysubs2)")
    return subs


def _load(text: str, fmt: str, styles: list[int], report: Report) -> pysubs2.SSAFile | None:
    try:
        return _from_string(text, fmt, report)
    except Exception:  # pysubs2 raises ValueError/IndexError/… for one bad field anywhere
        lines = text.split("\n")
        for number in styles:
            probe = "\n".join(ln for k, ln in enumerate(lines, start=1) if k not in styles or k == number)
            try:
                _from_string(probe, fmt)
            except Exception as exc:
                report.warning(number, "bad-style", f"style line not readable ({exc}); its lines use the defaults")
                lines[number - 1] = ""
        try:
            return _from_string("\n".join(lines), fmt, report)
        except Exception as exc:
            report.error(None, "unreadable", f"not a readable {fmt.upper()} file: {exc}")
            return None


def plain_text(text: str) -> str:
    """Event text → what is said: override blocks removed, drawings dropped, ``\\N``/``\\n`` line breaks."""
    out: list[str] = []
    drawing = False
    pos = 0
    for match in _OVERRIDE.finditer(text):
        if not drawing:
            out.append(text[pos : match.start()])
        for level in _DRAWING.findall(match.group(1)):
            drawing = int(level) > 0
        pos = match.end()
    if not drawing:
        out.append(text[pos:])
    joined = "".join(out)
    return joined.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")


def parse_ass(text: str, fmt: str, report: Report) -> list[Cue] | None:
    """Cues, or None when the file is not readable at all (already reported)."""
    styles, positions = _section_lines(text)
    subs = _load(text, fmt, styles, report)
    if subs is None:
        return None
    if len(positions) != len(subs.events):
        report.warning(None, "cue-positions", "could not match cues to source lines; line numbers are approximate")
    cues: list[Cue] = []
    for i, event in enumerate(subs.events):
        if event.is_comment:
            continue
        source_line = positions[i] if i < len(positions) else (positions[-1] if positions else 1)
        name = event.name.strip()
        speaker = None if not name or name.lower() in PLACEHOLDER_ACTORS else name
        body = "\n".join(ln.strip() for ln in plain_text(event.text).split("\n") if ln.strip())
        if not body:
            continue  # a sign drawn with vector shapes, or an empty event: nothing to say
        cues.append(Cue(source_line, event.start / 1000, event.end / 1000, [Segment(body, speaker)]))
    return cues
