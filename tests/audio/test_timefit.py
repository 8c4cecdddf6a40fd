"""Time-fit: lands on the slot, keeps pitch, never truncates speech."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio.edit import shorten_pauses, trim
from pipeline.audio.profiles import Profile, TimeFit
from pipeline.audio.timefit import fit

PROFILE = Profile(name="t", timefit=TimeFit(max_stretch=1.25, borrow_share=0.5, max_pause_ms=150))  # trim at -50 dB
LONG_PAUSES = Profile(name="t", timefit=TimeFit(max_stretch=1.25, borrow_share=0.5, max_pause_ms=5000))
CENTERED = Profile(name="t", timefit=TimeFit(max_stretch=1.25, borrow_share=0.5, max_pause_ms=150, placement="center"))


def median_f0(x: np.ndarray, rate: int) -> float:
    parselmouth = pytest.importorskip("parselmouth", reason="not checked: praat-parselmouth (dev extra) missing")
    pitch = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate).to_pitch()
    f0 = pitch.selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


def test_a_long_line_is_stretched_onto_its_slot_keeping_pitch(speech) -> None:
    samples, rate = speech
    samples = trim(samples, rate, -50.0, 50)
    length = samples.shape[0] / rate
    cue = length / 1.2  # needs a 1.2× speed-up, no gap to borrow
    result = fit(samples, rate, cue, 0.0, PROFILE)
    assert result.stretch > 1.0 and result.overflow_s == 0.0
    assert result.samples.shape[0] == round(result.slot_s * rate)  # on the slot to the sample
    assert median_f0(result.samples, rate) == pytest.approx(median_f0(samples, rate), rel=0.03)


def test_borrowing_from_the_gap_comes_before_stretching(speech) -> None:
    samples, rate = speech
    length = samples.shape[0] / rate
    result = fit(samples, rate, length - 0.3, 1.0, LONG_PAUSES)
    assert result.stretch == 1.0 and result.borrowed_s == pytest.approx(0.3, abs=0.01)
    assert np.array_equal(result.samples, samples)


def test_beyond_the_maximum_stretch_is_overflow_not_truncation(speech) -> None:
    samples, rate = speech
    length = samples.shape[0] / rate
    result = fit(samples, rate, length / 2, 0.0, LONG_PAUSES)
    assert result.stretch == 1.25 and result.overflow_s > 0
    assert result.samples.shape[0] == pytest.approx(samples.shape[0] / 1.25, abs=rate * 0.01)


def test_short_lines_are_placed_not_stretched(speech) -> None:
    samples, rate = speech
    length = samples.shape[0] / rate
    assert fit(samples, rate, length + 1.0, None, PROFILE).samples is samples
    centered = fit(samples, rate, length + 1.0, None, CENTERED)
    assert centered.offset_s == pytest.approx(0.5)


def test_long_pauses_are_shortened_first() -> None:
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(rate // 2) / rate)
    x = np.concatenate([tone, np.zeros(rate), tone])  # a 1 s pause between two half-second tones
    shorter = shorten_pauses(x, rate, -50.0, 150)
    assert (x.shape[0] - shorter.shape[0]) / rate == pytest.approx(0.85, abs=0.02)
    result = fit(x, rate, 1.3, 0.0, PROFILE)
    assert result.stretch == 1.0 and result.pauses_trimmed_s == pytest.approx(0.85, abs=0.02)
