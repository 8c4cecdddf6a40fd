"""Several lines in one Whisper window: Whisper encodes a fixed 30 s window, so a 3-second line transcribed alone
pays for 30 seconds. Lines of one language are laid end to end with short silences (up to ``WINDOW_S``),
transcribed once with word timestamps, and each word goes back to the line whose span holds its midpoint."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.qa.models import GREEDY

RATE = 16000
WINDOW_S = 28.0  # under Whisper's 30 s so the last line is never cut by the window
GAP_S = 0.6  # silence between lines: long enough that Whisper does not run two lines into one word


def windows(durations: list[float], window_s: float = WINDOW_S, gap_s: float = GAP_S) -> list[list[int]]:
    """Consecutive clip indexes packed into windows of at most ``window_s`` (a longer clip has one of its own)."""
    out: list[list[int]] = []
    used = window_s + 1
    for i, seconds in enumerate(durations):
        if out and used + gap_s + seconds <= window_s:
            out[-1].append(i)
            used += gap_s + seconds
        else:
            out.append([i])
            used = seconds
    return out


def transcribe_packed(whisper: Any, clips: list[np.ndarray], lang: str, max_tokens: int = 440) -> list[str]:
    """What Whisper heard in each 16 kHz clip, transcribing them packed; one greedy pass per window."""
    heard = [""] * len(clips)
    gap = np.zeros(int(GAP_S * RATE), dtype=np.float32)
    options = dict(GREEDY, language=lang, word_timestamps=True, max_new_tokens=max_tokens)
    for members in windows([len(c) / RATE for c in clips]):
        spans, parts, at = [], [], 0.0
        for i in members:
            spans.append((i, at, at + len(clips[i]) / RATE))
            parts += [clips[i].astype(np.float32), gap]
            at += len(clips[i]) / RATE + GAP_S
        segments, _ = whisper.transcribe(np.concatenate(parts), **options)
        for word in (w for segment in segments for w in segment.words or ()):
            middle = (word.start + word.end) / 2
            owner = min(
                spans, key=lambda s: 0.0 if s[1] <= middle <= s[2] else min(abs(middle - s[1]), abs(middle - s[2]))
            )
            heard[owner[0]] += word.word
    return heard
