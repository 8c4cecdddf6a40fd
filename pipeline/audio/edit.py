"""Per-clip edits: DC offset, silence trim with a pad, fades, resampling, channel layout."""

from __future__ import annotations

import numpy as np
import soxr

FRAME_S = 0.01  # 10 ms analysis frames for silence detection


def remove_dc(x: np.ndarray) -> np.ndarray:
    return x - np.mean(x) if x.size else x


def frame_db(x: np.ndarray, rate: int) -> np.ndarray:
    """RMS level in dBFS per 10 ms frame."""
    hop = max(1, int(FRAME_S * rate))
    frames = x[: (x.shape[0] // hop) * hop].reshape(-1, hop)
    if frames.size == 0:
        return np.zeros(0)
    return 20 * np.log10(np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1)) + 1e-12)


def speech_bounds(x: np.ndarray, rate: int, threshold_db: float) -> tuple[int, int] | None:
    """First and last sample of audible content, or None for a silent clip."""
    levels = frame_db(x, rate)
    loud = np.flatnonzero(levels > threshold_db)
    if loud.size == 0:
        return None
    hop = max(1, int(FRAME_S * rate))
    return int(loud[0] * hop), int(min(x.shape[0], (loud[-1] + 1) * hop))


def trim(x: np.ndarray, rate: int, threshold_db: float, pad_ms: int) -> np.ndarray:
    """Cut leading/trailing silence, keeping exactly ``pad_ms`` of (original or added) silence at each end."""
    bounds = speech_bounds(x, rate, threshold_db)
    if bounds is None:
        return x
    n, pad = x.shape[0], int(pad_ms / 1000 * rate)
    start, end = bounds
    lo, hi = max(0, start - pad), min(n, end + pad)
    head, tail = pad - (start - lo), pad - (hi - end)
    return np.concatenate([np.zeros(head, x.dtype), x[lo:hi], np.zeros(tail, x.dtype)])


def fade(x: np.ndarray, rate: int, fade_ms: int) -> np.ndarray:
    n = min(int(fade_ms / 1000 * rate), x.shape[0] // 2)
    if n <= 1:
        return x
    out = x.copy()
    ramp = np.sin(np.linspace(0, np.pi / 2, n)) ** 2
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    return x if rate == target else soxr.resample(x, rate, target, quality="VHQ").astype(x.dtype)


def shorten_pauses(x: np.ndarray, rate: int, threshold_db: float, max_pause_ms: int) -> np.ndarray:
    """Internal silences longer than ``max_pause_ms`` cut down to it (the first, gentlest time-fit step)."""
    levels = frame_db(x, rate)
    hop = max(1, int(FRAME_S * rate))
    keep = max(1, int(max_pause_ms / 1000 / FRAME_S))
    quiet = levels <= threshold_db
    bounds = speech_bounds(x, rate, threshold_db)
    if bounds is None:
        return x
    first, last = bounds[0] // hop, (bounds[1] - 1) // hop
    drop = np.zeros(levels.size, bool)
    run_start = None
    for i in range(first, last + 1):
        if quiet[i] and run_start is None:
            run_start = i
        elif not quiet[i] and run_start is not None:
            if i - run_start > keep:
                middle = run_start + keep // 2
                drop[middle : middle + (i - run_start - keep)] = True
            run_start = None
    if not drop.any():
        return x
    mask = np.repeat(~drop, hop)
    mask = np.concatenate([mask, np.ones(x.shape[0] - mask.size, bool)])
    return x[mask]
