"""Checks of what a delivery is made of, not of one line: a language's dialogue stem (duration against the script,
overlaps, loudness) and a narration file (ACX judges files: level, peak, noise floor)."""

from __future__ import annotations

import itertools

import numpy as np

from pipeline.audio.assemble import Placed
from pipeline.audio.loudness import level, true_peak_db
from pipeline.audio.profiles import Loudness, Profile
from pipeline.qa.results import Check
from pipeline.scripts.model import Line


def stem_checks(
    lang: str, stem: np.ndarray, placed: list[Placed], lines: list[Line], rate: int, profile: Profile
) -> list[Check]:
    script_end = max((line.end or 0.0) for line in lines if line.lang == lang)
    stem_end = max(p.end_s(rate) for p in placed)
    over = stem_end - script_end
    ordered = sorted(placed, key=lambda p: p.start_s)
    overlaps = sum(1 for a, b in itertools.pairwise(ordered) if b.start_s < a.end_s(rate) - 0.001)
    loud = level(stem, rate, profile.loudness.measure)
    spec = profile.loudness
    stem_verdict = "not-checked" if loud is None else "pass" if abs(loud - spec.target) <= spec.tolerance else "warn"
    tol = profile.qa.duration_tolerance_ms / 1000
    last_cue = f"last line ends by the script's last cue ({script_end:.2f} s)"
    quieter = "a stem with pauses reads lower than its lines; a warning, not a failure"
    return [
        Check(f"{lang}:stem_duration", "pass" if over <= tol else "fail", round(over, 3), "s over", last_cue),
        Check(f"{lang}:overlapping_speech", "pass" if overlaps == 0 else "warn", float(overlaps), "overlaps", "0"),
        _level(f"{lang}:stem_loudness", stem_verdict, loud, spec, quieter),
    ]


def _level(name: str, verdict: str, value: float | None, spec: Loudness, detail: str = "") -> Check:
    """A level against the profile's target ± tolerance, in its measure: stems and narration files alike."""
    unit, shown = "LUFS" if spec.measure == "lufs" else "dB RMS", None if value is None else round(value, 2)
    return Check(name, verdict, shown, unit, f"{spec.target} ± {spec.tolerance}", detail)


def file_checks(name: str, x: np.ndarray, rate: int, profile: Profile) -> list[Check]:
    """Whole-file acceptance (ACX judges files, not lines): level, peak and, when the profile sets one, the noise
    floor (RMS of the quietest 500 ms)."""
    spec = profile.loudness
    value, peak = level(x, rate, spec.measure), true_peak_db(x, rate)
    ok = value is not None and abs(value - spec.target) <= spec.tolerance
    under = peak <= spec.true_peak + 0.05
    checks = [
        _level(f"{name}:level", "pass" if ok else "fail", value, spec),
        Check(f"{name}:peak", "pass" if under else "fail", round(peak, 2), "dBTP", f"≤ {spec.true_peak}"),
    ]
    floor_limit = profile.qa.noise_floor_db
    if floor_limit is not None:
        window = int(0.5 * rate)
        blocks = x[: (x.shape[0] // window) * window].reshape(-1, window) if x.shape[0] >= window else x[None, :]
        floor = float(np.min(20 * np.log10(np.sqrt(np.mean(np.square(blocks, dtype=np.float64), axis=1)) + 1e-12)))
        verdict, quietest = "pass" if floor <= floor_limit else "fail", f"≤ {floor_limit} (quietest 500 ms)"
        checks.append(Check(f"{name}:noise_floor", verdict, round(floor, 1), "dB RMS", quietest))
    return checks
