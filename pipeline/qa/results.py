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

    def measured(self) -> str:
        """The value as a person reads it: "0.50 WER", "-31.2 LUFS", "542 ms short of the slot" (a duration "over"
        its slot by a negative amount is short of it), or "—" when nothing was measured."""
        if self.value is None:
            return "—"
        number = f"{self.value:.2f}".rstrip("0").rstrip(".") if isinstance(self.value, float) else str(self.value)
        if self.unit.endswith(" over"):
            unit = self.unit.removesuffix(" over")
            if self.value < 0:
                return f"{number.lstrip('-')} {unit} short of the slot"
            return f"{number} {unit} over the slot"
        return f"{number} {self.unit}".strip()

    def summary(self) -> str:
        """Measured against the threshold: "intelligibility 0.5 WER, wanted ≤ 0.15 (fail > 0.35): heard …"."""
        wanted = f", wanted {self.threshold}" if self.threshold else ""
        return f"{self.name} {self.measured()}{wanted}" + (f": {self.detail}" if self.detail else "")


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
        lines = [q.to_dict() | placement(q.line) for q in self.lines]
        return {**named, "counts": self.counts(), "script_checks": checks, "lines": lines}


def placement(line: Line | None) -> dict[str, Any]:
    """Where a line sits in its script and who says it: what a reviewer needs beside the verdict."""
    if line is None:
        return {}
    return {"cue": line.index + 1, "source_line": line.source_line, "speaker": line.speaker, "style": line.style,
            "slot_start_s": line.start, "slot_end_s": line.end, "spoken_text": line.spoken_text}  # fmt: skip
