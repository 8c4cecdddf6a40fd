"""Loudness (ITU-R BS.1770 via pyloudnorm), true peak (4x oversampled via soxr), normalization and a limiter."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import soxr
from scipy.ndimage import minimum_filter1d, uniform_filter1d

GATE_BLOCK_S = 0.4  # BS.1770 gating block: shorter signals have no integrated loudness
OVERSAMPLE = 4
_EPS = 1e-12


def integrated_loudness(x: np.ndarray, rate: int) -> float | None:
    """LUFS, or None when the clip is shorter than one gating block or entirely below the absolute gate."""
    if x.shape[0] < int(GATE_BLOCK_S * rate):
        return None
    value = pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64))
    return None if not np.isfinite(value) else float(value)


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + _EPS))


def level(x: np.ndarray, rate: int, measure: str) -> float | None:
    """The profile's measure: gated LUFS, or plain RMS dB (ACX). Short clips fall back to RMS for LUFS profiles
    (a ~400 ms line still gets a sensible gain instead of none or -inf)."""
    if measure == "rms":
        return rms_db(x) if x.size else None
    lufs = integrated_loudness(x, rate)
    if lufs is None and x.size and np.any(x):
        # A short clip: BS.1770's K-weighted mean square without gating, on the clip repeated to one block.
        repeats = int(np.ceil(GATE_BLOCK_S * rate / x.shape[0])) + 1
        return integrated_loudness(np.tile(x, repeats), rate)
    return lufs


def true_peak_db(x: np.ndarray, rate: int) -> float:
    """dBTP: the peak of the 4x oversampled signal (catches inter-sample peaks a sample peak meter misses)."""
    if x.size == 0:
        return -np.inf
    up = soxr.resample(x.astype(np.float64), rate, rate * OVERSAMPLE, quality="HQ")
    return float(20 * np.log10(max(float(np.max(np.abs(up))), float(np.max(np.abs(x)))) + _EPS))


def limit(x: np.ndarray, rate: int, ceiling_db: float) -> tuple[np.ndarray, float | None]:
    """A look-ahead true-peak limiter: the gain each oversampled peak needs, held over ±5 ms (so it starts before
    the peak arrives) and smoothed over 5 ms (no clicks); a final static trim guarantees the ceiling. Returns the
    audio and, when nothing needed limiting, its true peak (the audio is then ``x`` itself)."""
    ceiling = 10 ** (ceiling_db / 20)
    n = x.shape[0]
    up = np.abs(soxr.resample(x.astype(np.float64), rate, rate * OVERSAMPLE, quality="HQ"))
    env = (
        np.maximum(np.abs(x), up[: n * OVERSAMPLE].reshape(-1, OVERSAMPLE).max(axis=1)[:n])
        if up.size >= n * OVERSAMPLE
        else np.abs(x)
    )
    need = np.minimum(1.0, ceiling / np.maximum(env, _EPS))
    if np.all(need >= 1.0):
        return x, float(20 * np.log10(max(float(up.max(initial=0.0)), float(env.max(initial=0.0))) + _EPS))
    look = max(1, int(0.005 * rate))
    held = minimum_filter1d(need, size=2 * look + 1, mode="nearest")
    # Averaging over half the hold window stays under every peak's need (each averaged value saw that peak).
    gain = uniform_filter1d(held, size=look, mode="nearest")
    out = x * gain
    peak = true_peak_db(out, rate)
    if peak > ceiling_db:
        out = out * 10 ** ((ceiling_db - peak - 0.01) / 20)
    return out, None


def normalize(
    x: np.ndarray, rate: int, target: float, ceiling_db: float, measure: str = "lufs"
) -> tuple[np.ndarray, float | None, float]:
    """Gain to ``target`` (LUFS or RMS dB), then the true-peak ceiling. Returns (audio, gain dB, true peak).
    A clip the limiter did not touch is on target by construction (gain is linear): it is not measured again."""
    current = level(x, rate, measure)
    if current is None:  # silence: nothing to normalize
        return x, None, true_peak_db(x, rate)
    gain_db = target - current
    out, peak = limit(x * 10 ** (gain_db / 20), rate, ceiling_db)
    for _ in range(3):  # limiting lowers loudness: make up the difference and limit again, a few rounds
        after = None if peak is not None else level(out, rate, measure)
        if after is None or abs(after - target) < 0.05:
            break
        gain_db += target - after
        out, peak = limit(x * 10 ** (gain_db / 20), rate, ceiling_db)
    return out, gain_db, peak if peak is not None else true_peak_db(out, rate)
