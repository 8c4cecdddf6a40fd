"""QA results: one check = a value, the threshold it was held to, and a verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from pipeline.scripts.model import Line

Verdict = Literal["pass", "warn", "fail", "not-checked"]
SEVERITY = {"not-checked": 0, "pass": 1, "warn": 2, "fail": 3}


@dataclass(frozen=True)
class Check:
    name: str  # e.g. "true_peak", "loudness", "intelligibility"
    verdict: Verdict
    value: float | None = None
    unit: str = ""
    threshold: str = ""  # human-readable, e.g. "≤ -1.0 dBTP" or "-23.0 ± 1.0 LUFS"
    detail: str = ""  # why (for not-checked: why it could not run)


def overall(checks: list[Check]) -> Verdict:
    """The worst verdict among the checks that ran; not-checked never turns a line green or red."""
    ran = [c.verdict for c in checks if c.verdict != "not-checked"]
    if not ran:
        return "not-checked"
    return max(ran, key=SEVERITY.__getitem__)


@dataclass
class LineQa:
    """Everything QA knows about one line after post-processing (and any re-synthesis)."""

    line_id: str
    lang: str
    text: str
    verdict: Verdict
    checks: list[Check]
    attempts: int = 1  # synthesis attempts including QA-driven re-synthesis
    quarantined: bool = False
    reasons: list[str] = field(default_factory=list)  # failed checks, for quarantined lines
    key: str | None = None  # processed clip in staging
    duration_s: float | None = None
    loudness: float | None = None
    true_peak: float | None = None
    stretch: float = 1.0
    engine: str | None = None
    voice: str | None = None
    start_s: float | None = None  # placement in the stem (dubbing)
    lexicon: list[str] = field(default_factory=list)  # the project lexicon's entries the line used (SQL → sequel)
    line: Line | None = field(default=None, compare=False, repr=False)  # the record's line, on the client only

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "line"}
        return {**out, "checks": [asdict(c) for c in self.checks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineQa:
        return cls(**{**data, "checks": [Check(**c) for c in data["checks"]]})


@dataclass
class ScriptQa:
    project: str
    script_id: str
    profile: str
    lines: list[LineQa]
    script_checks: list[Check] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {"pass": 0, "warn": 0, "fail": 0, "not-checked": 0, "quarantined": 0, "retried": 0}
        for line in self.lines:
            counts[line.verdict] += 1
            counts["quarantined"] += line.quarantined
            counts["retried"] += line.attempts > 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        named = {"project": self.project, "script_id": self.script_id, "profile": self.profile}
        checks = [asdict(c) for c in self.script_checks]
        return {**named, "counts": self.counts(), "script_checks": checks, "lines": [q.to_dict() for q in self.lines]}
