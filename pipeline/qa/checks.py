"""Per-line signal checks against a delivery profile: each returns a value, its threshold and a verdict."""

from __future__ import annotations

import re

import numpy as np

from pipeline.audio.edit import FRAME_S, frame_db, speech_bounds
from pipeline.audio.loudness import level, true_peak_db
from pipeline.audio.profiles import Profile
from pipeline.audio.timefit import Fit
from pipeline.qa.results import Check

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9']+")
_EDGES = ("lead_silence", "trail_silence", "longest_pause")


def broken(x: np.ndarray) -> str | None:
    """Why these samples are no audio at all, or None."""
    if x.size == 0:
        return "empty audio"
    return None if np.isfinite(x).all() else "audio contains NaN or Inf"


def unusable(x: np.ndarray, silence_rms: float) -> str | None:
    """The worker's gate before a raw clip is cached: broken or silent (RMS below ``synthesis.silence_rms``)."""
    rms = 0.0 if broken(x) else float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return broken(x) or (f"silent audio (RMS {rms:.2e})" if rms < silence_rms else None)


def validity(x: np.ndarray, rate: int, threshold_db: float) -> Check:
    if why := broken(x):
        return Check("audio", "fail", None, "", "non-empty, finite samples", why)
    if speech_bounds(x, rate, threshold_db) is None:
        loudest = float(np.max(frame_db(x, rate), initial=-120.0))
        return Check("audio", "fail", loudest, "dBFS", f"> {threshold_db:.0f} dBFS somewhere", "silent audio")
    return Check("audio", "pass", x.shape[0] / rate, "s", "non-empty, finite, audible")


def clipping(x: np.ndarray) -> Check:
    """Runs of 3+ samples at full scale: digital clipping, not just a loud peak."""
    at_full = np.abs(x) >= 0.999
    runs = int(np.sum(at_full[2:] & at_full[1:-1] & at_full[:-2])) if x.size > 2 else 0
    return Check("clipping", "fail" if runs else "pass", float(runs), "samples", "0 clipped runs")


def true_peak(x: np.ndarray, rate: int, profile: Profile) -> Check:
    ceiling = profile.loudness.true_peak
    value = true_peak_db(x, rate)
    verdict = "pass" if value <= ceiling + 0.05 else "fail"
    return Check("true_peak", verdict, round(value, 2), "dBTP", f"≤ {ceiling:.1f} dBTP")


def loudness(x: np.ndarray, rate: int, profile: Profile) -> Check:
    spec = profile.loudness
    unit = "LUFS" if spec.measure == "lufs" else "dB RMS"
    value = level(x, rate, spec.measure)
    threshold = f"{spec.target:.1f} ± {spec.tolerance:.1f} {unit}"
    if value is None:
        return Check("loudness", "not-checked", None, unit, threshold, "no measurable programme (silent)")
    off = abs(value - spec.target)
    # RMS profiles (ACX) are a hard acceptance range: outside it the file is rejected, so the line fails.
    hard = spec.measure == "rms"
    verdict = "pass" if off <= spec.tolerance else "fail" if hard or off > 2 * spec.tolerance else "warn"
    return Check("loudness", verdict, round(value, 2), unit, threshold)


def edges(x: np.ndarray, rate: int, profile: Profile) -> list[Check]:
    """Leading/trailing silence and the longest internal pause."""
    bounds = speech_bounds(x, rate, profile.trim.threshold_db)
    qa = profile.qa
    if bounds is None:
        return [Check(n, "not-checked", detail="silent audio") for n in _EDGES]
    lead, trail = bounds[0] / rate * 1000, (x.shape[0] - bounds[1]) / rate * 1000
    levels = frame_db(x[bounds[0] : bounds[1]], rate)
    longest = run = 0
    for quiet in levels <= profile.trim.threshold_db:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    pause = longest * FRAME_S * 1000
    limits = (qa.max_lead_silence_ms, qa.max_trail_silence_ms, qa.max_internal_pause_ms)
    measured = zip(_EDGES, (lead, trail, pause), limits, strict=True)
    return [Check(n, "pass" if ms <= limit else "warn", round(ms), "ms", f"≤ {limit} ms") for n, ms, limit in measured]


def timing(fit: Fit, rate: int, profile: Profile) -> list[Check]:
    if fit.slot_s is None:
        reason = "no cue in the script (narration)"
        return [Check("duration_vs_cue", "not-checked", detail=reason), Check("stretch", "not-checked", detail=reason)]
    qa, limit, tol = profile.qa, profile.timefit.max_stretch, profile.qa.duration_tolerance_ms
    over_ms = (fit.samples.shape[0] / rate - fit.slot_s) * 1000
    # Overflow is flagged, not quarantined: the line is placed whole (speech is never cut) and the stem's
    # overlapping-speech check shows what it runs into.
    overflow = "overflow: does not fit even at the maximum stretch" if fit.overflow_s else ""
    slot = f"≤ {tol} ms over the slot ({fit.slot_s:.2f} s)"
    duration = Check("duration_vs_cue", "pass" if over_ms <= tol else "warn", round(over_ms), "ms over", slot, overflow)
    verdict = "pass" if fit.stretch <= qa.warn_stretch else "warn" if fit.stretch <= limit + 1e-6 else "fail"
    done = f"{fit.pauses_trimmed_s:.2f} s of pauses trimmed, {fit.borrowed_s:.2f} s borrowed"
    stretch = Check("stretch", verdict, round(fit.stretch, 3), "×", f"≤ {qa.warn_stretch} (max {limit})", done)
    return [duration, stretch]


def speech_rate(x: np.ndarray, rate: int, spoken_text: str, lang: str, profile: Profile) -> Check:
    """Characters/s for Chinese, words/s otherwise, over the audible span."""
    bounds = speech_bounds(x, rate, profile.trim.threshold_db)
    if bounds is None:
        return Check("speech_rate", "not-checked", detail="silent audio")
    seconds = (bounds[1] - bounds[0]) / rate
    chinese = lang.split("-", 1)[0] in ("zh", "yue", "cmn")
    units = len(_CJK.findall(spoken_text)) if chinese else len(_WORD.findall(spoken_text))
    unit = "chars/s" if chinese else "words/s"
    if units == 0 or seconds <= 0:
        return Check("speech_rate", "not-checked", unit=unit, detail="no countable words in the text")
    value = units / seconds
    low, high = profile.qa.rate_band(lang)
    verdict = "pass" if low <= value <= high else "warn"
    return Check("speech_rate", verdict, round(value, 2), unit, f"{low}–{high} {unit}")


def line_checks(x: np.ndarray, rate: int, fit: Fit, spoken_text: str, lang: str, profile: Profile) -> list[Check]:
    first = validity(x, rate, profile.trim.threshold_db)
    if first.verdict == "fail":
        return [first]
    signal = [clipping(x), true_peak(x, rate, profile), loudness(x, rate, profile), *edges(x, rate, profile)]
    return [first, *signal, *timing(fit, rate, profile), speech_rate(x, rate, spoken_text, lang, profile)]
