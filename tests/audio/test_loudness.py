"""Loudness and true peak against known answers, and against ffmpeg's own EBU R128 meter on real speech."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio.loudness import integrated_loudness, level, normalize, true_peak_db
from pipeline.audio.process import process_clip
from pipeline.qa.checks import clipping, true_peak, validity
from tests.audio.conftest import profile, sine, write


@pytest.mark.parametrize("amplitude", [1.0, 0.5, 0.1])
def test_a_1khz_sine_reads_its_textbook_loudness(amplitude: float) -> None:
    # BS.1770: a full-scale 1 kHz sine reads -3.01 LUFS; the K-weighting is ~0 dB at 1 kHz.
    expected = 20 * np.log10(amplitude) - 3.01
    assert integrated_loudness(sine(1000, amplitude, 3.0), 48000) == pytest.approx(expected, abs=0.1)


def test_normalization_hits_target_and_the_true_peak_ceiling_holds() -> None:
    loud = sine(997, 0.9, 3.0) + 0.05 * np.random.default_rng(0).standard_normal(144000)
    out, _, peak = normalize(loud, 48000, target=-16.0, ceiling_db=-1.0)
    assert integrated_loudness(out, 48000) == pytest.approx(-16.0, abs=0.3)
    assert peak <= -1.0 and true_peak_db(out, 48000) <= -1.0
    hot, _, hot_peak = normalize(sine(1000, 0.05, 3.0), 48000, target=-6.0, ceiling_db=-2.0)  # limiter must act
    assert hot_peak <= -2.0 and np.max(np.abs(hot)) < 10 ** (-2.0 / 20)


def test_inter_sample_peaks_are_caught() -> None:
    # A sine at fs/4 with a 45° phase: samples sit at ±0.707 of the true peak (3 dB of inter-sample overshoot).
    t = np.arange(48000)
    x = np.sin(2 * np.pi * 12000 * t / 48000 + np.pi / 4) * 0.99
    sample_peak = 20 * np.log10(np.max(np.abs(x)))
    assert true_peak_db(x, 48000) > sample_peak + 2.5


def test_clipped_and_silent_clips_fail() -> None:
    clipped = np.clip(sine(440, 2.0, 1.0), -1.0, 1.0)
    assert clipping(clipped).verdict == "fail" and true_peak(clipped, 48000, profile()).verdict == "fail"
    assert validity(np.zeros(48000), 48000, -50).verdict == "fail"
    assert validity(np.array([np.nan, 0.1]), 48000, -50).detail == "audio contains NaN or Inf"


def test_short_clips_get_a_finite_gain_not_minus_infinity() -> None:
    short = sine(300, 0.05, 0.2)  # shorter than a 400 ms gating block
    assert integrated_loudness(short, 48000) is None
    assert level(short, 48000, "lufs") == pytest.approx(20 * np.log10(0.05) - 3.01, abs=1.0)
    out, gain, _ = normalize(short, 48000, -23.0, -1.0)
    assert gain is not None and np.isfinite(gain) and np.isfinite(out).all()


def test_normalized_speech_agrees_with_ffmpeg_ebur128(speech, tmp_path: Path) -> None:
    ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="not checked: imageio-ffmpeg (the dev extra) is missing")
    samples, rate = speech
    result = process_clip(samples, rate, profile("broadcast"))
    path = write(tmp_path, "speech.wav", result.samples, result.rate)
    out = subprocess.run([ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-af",
                          "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True, check=True)  # fmt: skip
    summary = out.stderr[out.stderr.rindex("Summary:") :]
    theirs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    assert theirs == pytest.approx(-23.0, abs=0.5)
    assert theirs == pytest.approx(integrated_loudness(result.samples, result.rate), abs=0.5)
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    assert peak <= -1.0 + 0.2  # ffmpeg's true-peak meter agrees the ceiling holds


def test_the_limiter_is_smooth_and_loudness_holds_after_it(speech) -> None:
    samples, rate = speech
    hot = np.concatenate([samples, 0.9 * np.sign(samples[:2000])])  # speech plus a burst the limiter must tame
    out, _, peak = normalize(hot.astype(np.float64), rate, target=-16.0, ceiling_db=-1.0)
    assert peak <= -1.0
    assert integrated_loudness(out, rate) == pytest.approx(-16.0, abs=0.3)  # made up after limiting
    gain = np.divide(out, hot, out=np.ones_like(out), where=np.abs(hot) > 1e-3)
    steps = np.abs(np.diff(gain))[(np.abs(hot[1:]) > 1e-3) & (np.abs(hot[:-1]) > 1e-3)]
    assert steps.max() < 0.05  # no gain steps (clicks)


def test_podcast_speech_lands_inside_its_tolerance(speech) -> None:
    samples, rate = speech
    result = process_clip(samples, rate, profile("podcast"))
    assert integrated_loudness(result.samples, result.rate) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_db(result.samples, result.rate) <= -1.0
