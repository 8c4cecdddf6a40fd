"""One clip through the delivery chain: DC → trim → time-fit → resample → loudness + true-peak limit → fades."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pipeline.audio import edit
from pipeline.audio.loudness import level, normalize
from pipeline.audio.profiles import Profile
from pipeline.audio.timefit import Fit, fit


@dataclass(frozen=True)
class Processed:
    samples: np.ndarray  # mono float32 at profile.sample_rate (channel layout is applied at encoding)
    rate: int
    fit: Fit  # at the delivery rate
    gain_db: float | None
    true_peak: float


def process_clip(
    x: np.ndarray, rate: int, profile: Profile, cue_s: float | None = None, gap_after_s: float | None = None
) -> Processed:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    trim = profile.trim
    # Silence thresholds are absolute (dBFS): bring the clip near its target level first, so a quiet take is not
    # trimmed or pause-shortened into its soft consonants.
    provisional = level(x, rate, profile.loudness.measure)
    if provisional is not None:
        x = x * 10 ** ((profile.loudness.target - provisional) / 20)
    x = edit.trim(edit.remove_dc(x), rate, trim.threshold_db, trim.pad_ms)
    x = edit.resample(x, rate, profile.sample_rate)
    rate = profile.sample_rate
    fitted = fit(x, rate, cue_s, gap_after_s, profile)
    loud = profile.loudness
    faded = edit.fade(fitted.samples, rate, trim.fade_ms)
    out, gain_db, peak = normalize(faded, rate, loud.target, loud.true_peak, loud.measure)
    out = out.astype(np.float32)
    return Processed(out, rate, replace(fitted, samples=out), gain_db, peak)
