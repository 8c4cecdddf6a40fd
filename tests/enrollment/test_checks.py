"""Reference-clip checks against real recordings (upstream CosyVoice's two human prompts), our own voices, and the
defects studios send: noise, clipping, a quiet take, a low sample rate, two people, too short or too long."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pipeline.enrollment.checks import check_clip, one_speaker, signal_to_noise
from tests.conftest import REPO

VOICES = REPO / "samples" / "voices"


def _read(name: str, rate: int | None = None) -> tuple[np.ndarray, int]:
    x, native = sf.read(VOICES / name, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if rate and rate != native:
        return soxr.resample(x, native, rate).astype(np.float32), rate
    return x, native


def _verdicts(x: np.ndarray, rate: int, speaker: bool = True) -> dict[str, str]:
    return {c.name: c.verdict for c in check_clip(x, rate, speaker=speaker)}


@pytest.fixture(scope="module")
def human() -> dict[str, tuple[np.ndarray, int]]:
    return {
        "zh": _read("cosyvoice-zero-shot-prompt.wav", 24000),
        "en": _read("cosyvoice-cross-lingual-prompt.wav", 24000),
    }


def test_a_clean_human_recording_passes_every_check(human) -> None:
    x, rate = human["en"]
    assert set(_verdicts(x, rate).values()) == {"pass"}


def test_upstreams_three_second_prompt_warns_on_its_length_only(human) -> None:
    """2.9 s of speech in a 3.5 s file: CosyVoice clones from it, so it is enrolled with a warning, not refused."""
    x, rate = human["zh"]
    verdicts = _verdicts(x, rate)
    assert verdicts.pop("duration") == "warn"
    assert set(verdicts.values()) == {"pass"}, verdicts


def test_two_people_in_one_clip_are_refused(human, speech, other_voice) -> None:
    zh, en = human["zh"][0], human["en"][0]
    two_humans = one_speaker(np.concatenate([en[: 6 * 24000], zh]), 24000)
    piper, rate = speech
    espeak = soxr.resample(other_voice[0], other_voice[1], rate).astype(np.float32)
    two_voices = one_speaker(np.concatenate([piper, espeak]), rate)
    assert two_humans.verdict == "fail" and two_voices.verdict == "fail", (two_humans, two_voices)
    alone = one_speaker(human["en"][0], 24000)
    assert alone.verdict == "pass" and alone.value > two_humans.value + 0.15


def test_noise_clipping_quiet_and_low_rate_are_each_named(human) -> None:
    x, rate = human["en"]
    rng = np.random.default_rng(7)
    loud_noise = x + rng.normal(0, float(np.sqrt(np.mean(x**2))) / 2, x.shape).astype(np.float32)  # SNR about 6 dB
    assert _verdicts(loud_noise, rate, speaker=False)["noise"] == "fail"
    hiss = x + rng.normal(0, float(np.sqrt(np.mean(x**2))) / 6, x.shape).astype(np.float32)
    assert _verdicts(hiss, rate, speaker=False)["noise"] == "warn"
    assert _verdicts(np.clip(x * 4, -1, 1), rate, speaker=False)["clipping"] == "fail"
    assert _verdicts(x * 0.01, rate, speaker=False)["level"] == "fail"
    phone = soxr.resample(x, rate, 8000).astype(np.float32)
    assert _verdicts(phone, 8000, speaker=False)["sample_rate"] == "fail"


def test_too_short_and_too_long_are_refused(human) -> None:
    x, rate = human["en"]
    assert _verdicts(x[: int(1.5 * rate)], rate, speaker=False)["duration"] == "fail"
    assert _verdicts(np.tile(x, 3), rate, speaker=False)["duration"] == "fail"  # 39 s
    silence_around = np.concatenate([np.zeros(5 * rate, np.float32), x[: 4 * rate], np.zeros(5 * rate, np.float32)])
    check = next(c for c in check_clip(silence_around, rate, speaker=False) if c.name == "duration")
    assert check.verdict == "pass" and 3.5 < check.value < 4.5  # speech is measured, not the silence around it


def test_digital_silence_between_words_reads_as_a_high_finite_snr(speech) -> None:
    x, rate = speech
    padded = np.concatenate([np.zeros(rate, np.float32), x, np.zeros(rate, np.float32)])
    assert 40 < signal_to_noise(padded, rate) < 200


def test_silence_padded_around_a_take_cannot_hide_its_hiss(human) -> None:
    x, rate = human["en"]
    hiss = x + np.random.default_rng(3).normal(0, float(np.sqrt(np.mean(x**2))) / 2, x.shape).astype(np.float32)
    padded = np.concatenate([np.zeros(10 * rate, np.float32), hiss, np.zeros(10 * rate, np.float32)])
    assert signal_to_noise(padded, rate) == pytest.approx(signal_to_noise(hiss, rate), abs=1.0)
    assert signal_to_noise(padded, rate) < 15  # 20 s of digital silence around it used to read as 100 dB


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float32, st.integers(0, 8000), elements=st.floats(-1.5, 1.5, width=32)),  # under 1 s at any rate
    st.sampled_from([8000, 16000, 22050, 48000]),
)
def test_any_samples_get_a_verdict_for_every_check_and_never_raise(x: np.ndarray, rate: int) -> None:
    checks = check_clip(x, rate, speaker=False)
    assert [c.name for c in checks] == ["sample_rate", "duration", "level", "noise", "clipping", "one_speaker"]
    assert all(c.verdict in ("pass", "warn", "fail", "not-checked") for c in checks)
    assert checks[1].verdict == "fail"  # under 1 s of audio is never enough
