"""Fit a dubbing line into its cue: shorten pauses, borrow from the gap, stretch without changing pitch, or flag.

Speech is never truncated: a line that still does not fit after the maximum stretch is placed whole and flagged
as overflow for QA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from audiotsm import wsola
from audiotsm.io.array import ArrayReader, ArrayWriter

from pipeline.audio.edit import shorten_pauses
from pipeline.audio.profiles import Profile


@dataclass(frozen=True)
class Fit:
    samples: np.ndarray
    slot_s: float | None  # the time available: cue length plus what was borrowed
    borrowed_s: float = 0.0
    stretch: float = 1.0  # speed-up applied (1.0 = none)
    pauses_trimmed_s: float = 0.0
    overflow_s: float = 0.0  # how much longer than the slot it still is (0 = fits)
    offset_s: float = 0.0  # where in the cue it starts (center placement)


def stretch(x: np.ndarray, factor: float, target_len: int) -> np.ndarray:
    """Speed up by ``factor`` with WSOLA (pitch unchanged), then land exactly on ``target_len`` samples."""
    writer = ArrayWriter(channels=1)
    wsola(channels=1, speed=factor).run(ArrayReader(x.reshape(1, -1).astype(np.float32)), writer)
    out = writer.data[0]
    if out.shape[0] >= target_len:
        return out[:target_len].astype(x.dtype)
    return np.concatenate([out, np.zeros(target_len - out.shape[0])]).astype(x.dtype)


def fit(x: np.ndarray, rate: int, cue_s: float | None, gap_after_s: float | None, profile: Profile) -> Fit:
    """Fit ``x`` into its cue with the profile's time-fit settings (``profile.trim`` says what is silence)."""
    spec, threshold_db = profile.timefit, profile.trim.threshold_db
    if cue_s is None:  # narration: no slot to fit
        return Fit(x, None)
    length = x.shape[0] / rate
    if length <= cue_s:
        offset = (cue_s - length) / 2 if spec.placement == "center" else 0.0
        return Fit(x, cue_s, offset_s=offset)
    shortened = shorten_pauses(x, rate, threshold_db, spec.max_pause_ms)
    trimmed = (x.shape[0] - shortened.shape[0]) / rate
    length = shortened.shape[0] / rate
    if length <= cue_s:
        return Fit(shortened, cue_s, pauses_trimmed_s=trimmed)
    borrow = min(length - cue_s, spec.borrow_share * max(0.0, gap_after_s or 0.0))
    slot = cue_s + borrow
    if length <= slot:
        return Fit(shortened, slot, borrowed_s=borrow, pauses_trimmed_s=trimmed)
    factor = min(length / slot, spec.max_stretch)
    target = round(shortened.shape[0] / factor) if factor < length / slot else round(slot * rate)
    out = stretch(shortened, factor, target)
    overflow = max(0, out.shape[0] - round(slot * rate)) / rate  # whole samples: rounding is not overflow
    return Fit(out, slot, borrowed_s=borrow, stretch=factor, pauses_trimmed_s=trimmed, overflow_s=overflow)
