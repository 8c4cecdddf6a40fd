"""Assembly: per-language dialogue stems aligned to cues (sample-accurate), subtitles with the spoken timings, and
narration chapters with their pauses and room tone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pysubs2

from pipeline.audio.profiles import RoomTone


@dataclass(frozen=True)
class Placed:
    line_id: str
    text: str
    start_s: float  # where the clip starts in the stem
    samples: np.ndarray

    def end_s(self, rate: int) -> float:
        return self.start_s + self.samples.shape[0] / rate


def dialogue_stem(clips: list[Placed], rate: int, tail_s: float = 0.5) -> np.ndarray:
    """All clips mixed at their start sample; overlapping speech adds (QA reports the overlap)."""
    if not clips:
        return np.zeros(0, np.float32)
    length = max(round(c.start_s * rate) + c.samples.shape[0] for c in clips) + int(tail_s * rate)
    stem = np.zeros(length, np.float64)
    for clip in clips:
        start = round(clip.start_s * rate)
        stem[start : start + clip.samples.shape[0]] += clip.samples
    return stem.astype(np.float32)


def subtitles(clips: list[Placed], rate: int, fmt: str = "srt") -> str:
    """Subtitles whose cues are what was actually spoken: start and end of each placed clip."""
    subs = pysubs2.SSAFile()
    for clip in sorted(clips, key=lambda c: c.start_s):
        start, end = round(clip.start_s * 1000), round(clip.end_s(rate) * 1000)
        subs.append(pysubs2.SSAEvent(start=start, end=end, text=clip.text.replace("\n", "\\N")))
    return subs.to_string(fmt)


def room_tone(seconds: float, rate: int, level_db: float, seed: int = 0) -> np.ndarray:
    """Quiet pink-ish noise at ``level_db`` RMS: audiobook heads and tails are room tone, not digital silence."""
    n = int(seconds * rate)
    if n == 0:
        return np.zeros(0, np.float32)
    margin = 256  # generated beyond both ends and cropped: the moving average has no edge to click at
    walk = np.cumsum(np.random.default_rng(seed).standard_normal(n + 2 * margin))
    pink = (walk - np.convolve(walk, np.ones(64) / 64, mode="same"))[margin : margin + n]
    pink /= np.sqrt(np.mean(pink**2)) + 1e-12
    return (pink * 10 ** (level_db / 20)).astype(np.float32)


def narration(clips: list[tuple[np.ndarray, float]], rate: int, tone: RoomTone) -> np.ndarray:
    """One chapter: each clip followed by its pause (as room tone), with the profile's head and tail."""
    parts = [room_tone(tone.head_s, rate, tone.level_db, seed=1)]
    for n, (samples, pause_s) in enumerate(clips):
        pause = room_tone(pause_s, rate, tone.level_db, seed=10 + n) if tone.level_db > -120 else None
        parts += [samples.astype(np.float32), np.zeros(int(pause_s * rate), np.float32) if pause is None else pause]
    parts.append(room_tone(tone.tail_s, rate, tone.level_db, seed=2))
    return np.concatenate(parts)
