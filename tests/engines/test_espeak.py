from __future__ import annotations

import pytest

from pipeline.engines.base import UnsupportedInputError, VoiceRef
from pipeline.engines.espeak_input import text_runs
from pipeline.text.markup import parse
from tests.engines.conftest import assert_speech, request


@pytest.mark.parametrize(
    ("text", "lang", "low", "high"),
    [
        ("The island has two hundred people.", "en", 1.0, 4.0),
        ("你好，今天天气很好。", "zh", 1.0, 5.0),
        ("你好，今日天氣好好。", "yue", 1.0, 5.0),
        ("Bonjour à tous, bienvenue.", "fr", 0.8, 4.0),
        ("Guten Morgen, wie geht es?", "de", 0.8, 4.0),
    ],
)
def test_speaks_many_languages(espeak_engine, text: str, lang: str, low: float, high: float) -> None:
    result = espeak_engine.synthesize(request(text, lang))
    assert result.sample_rate == 22050 and result.model_version == "espeak-ng-1.52.0"
    assert_speech(result, low, high)


def test_speed_changes_duration(espeak_engine) -> None:
    text = "We reached the island at nine in the morning."
    slow, fast = (espeak_engine.synthesize(request(text, "en", speed=s)).duration for s in (0.8, 1.25))
    assert slow > fast * 1.3


def test_pinyin_override_is_spoken_as_tone_number_pinyin(espeak_engine) -> None:
    assert text_runs(parse("她[h][ào]干净"), pinyin=True) == [("text", "她 hao4 干净")]
    assert_speech(espeak_engine.synthesize(request("她[h][ào]干净", "zh")), 0.5, 3.0)


def test_cantonese_dialect_instruction_picks_the_yue_voice(espeak_engine) -> None:
    assert espeak_engine.voice_name(request("你好", "zh", style="请用广东话表达。")) == "yue"
    sichuan = espeak_engine.synthesize(request("你好", "zh", style="用四川话说"))
    assert any("no sichuan dialect voice" in w for w in sichuan.warnings)


def test_unknown_language_is_unsupported(espeak_engine) -> None:
    with pytest.raises(UnsupportedInputError, match="does not speak 'xx'"):
        espeak_engine.synthesize(request("hello", "xx"))
    with pytest.raises(UnsupportedInputError):
        espeak_engine.synthesize(request("hello", "en", voice=VoiceRef("v", engine_voice="no-such-voice")))


def test_languages_come_from_its_voice_files_without_loading() -> None:
    from pipeline.engines.espeak import EspeakEngine

    engine = EspeakEngine()
    assert not engine.loaded
    speaks = engine.capabilities.speaks
    assert all(speaks(lang) for lang in ("en", "en-us", "zh", "yue", "fr", "de", "ja", "ko", "ru", "cs"))
    assert not speaks("xx") and not speaks("zu")
