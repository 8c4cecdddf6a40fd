"""The records ingestion produces: lines, and the problems found on the way."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pipeline.text.markup import Utterance, parse
from pipeline.text.normalize import normalize

Severity = Literal["error", "warning"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None  # 1-based line in the source file; None when the problem is about the whole file
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message} [{self.code}]"


@dataclass(frozen=True, slots=True)
class Line:
    """One unit of synthesis: a cue, a sheet row, or a manuscript sentence group."""

    script_id: str
    line_id: str
    index: int
    source_line: int
    text: str  # as written, markup included (styling tags stripped)
    spoken_text: str  # markup removed, numbers/dates spelled out: what the listener should hear
    text_hash: str  # sha256 of the canonical markup: changes exactly when what is to be said changes
    lang: str
    speaker: str | None = None
    voice: str | None = None
    style: str | None = None
    notes: str | None = None
    start: float | None = None
    end: float | None = None
    chapter: str | None = None
    paragraph: int | None = None
    pause_after: float = 0.0
    lexicon: tuple[str, ...] = ()  # the project lexicon's entries this line used, as shown (``SQL → sequel``)
    # What the engine is asked to say (markup parsed and normalized once, at ingest); not in the lines table.
    utterance: Utterance | None = field(default=None, compare=False, repr=False)

    def speech(self) -> Utterance:
        """The normalized utterance; parsed again only for a line read back from the lines table."""
        return self.utterance if self.utterance is not None else normalize(parse(self.text), self.lang)

    @property
    def slot(self) -> float | None:
        """Seconds available for the line, when the script times it."""
        return None if self.start is None or self.end is None else self.end - self.start


@dataclass
class RawLine:
    """A parser's output before ids, language and validation: fields as found, plus where they were found."""

    source_line: int
    text: str
    speaker: str | None = None
    line_id: str | None = None
    start: float | None = None
    end: float | None = None
    voice: str | None = None
    style: str | None = None
    lang: str | None = None
    notes: str | None = None
    chapter: str | None = None
    paragraph: int | None = None
    pause_after: float = 0.0
    timing_ok: bool = True  # False when a timecode could not be read (already reported; skip timing checks)


# More problems of one kind than this are counted, not listed: a 20,000-line file with the same mistake on every
# line should say so in a screenful, and its report should not outgrow the file.
MAX_LISTED_PER_CODE = 50


@dataclass
class Report:
    """Collects every problem of one file so the author sees them all at once."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    unlisted: dict[tuple[Severity, str], int] = field(default_factory=dict)
    _listed: dict[str, int] = field(default_factory=dict)

    def add(self, severity: Severity, line: int | None, code: str, message: str) -> None:
        if self._listed.get(code, 0) >= MAX_LISTED_PER_CODE:
            self.unlisted[(severity, code)] = self.unlisted.get((severity, code), 0) + 1
            return
        self._listed[code] = self._listed.get(code, 0) + 1
        message = _CONTROL.sub(lambda m: ascii(m.group(0))[1:-1], message)  # a file's bytes never drive a terminal
        self.problems.append(Problem(self.file, line, severity, code, message))

    def summarized(self) -> list[Problem]:
        """Every listed problem, plus one line per kind that had more than ``MAX_LISTED_PER_CODE``."""
        note = "more problems like this are not listed"
        more = [Problem(self.file, None, *kind, f"{count:,} {note}") for kind, count in sorted(self.unlisted.items())]
        return [*self.problems, *more]

    def error(self, line: int | None, code: str, message: str) -> None:
        self.add("error", line, code, message)

    def warning(self, line: int | None, code: str, message: str) -> None:
        self.add("warning", line, code, message)

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems) or any(s == "error" for s, _ in self.unlisted)


@dataclass(frozen=True)
class IngestResult:
    script_id: str
    source: str
    source_sha256: str
    format: str
    encoding: str | None
    lines: tuple[Line, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors
