"""Kokoro-82M from its wheels: the joined model is the pinned one, each language is heard as written (Whisper, as QA
hears it), overrides and breaks reach the model, and the voices are distinct."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soxr

from pipeline.engines.base import UnsupportedInputError, VoiceRef
from pipeline.engines.kokoro import MODEL_SHA256, KokoroEngine, phoneme_parts, pinyin_ipa
from pipeline.model_parts import join_parts
from pipeline.qa.models import GREEDY, default_asr_models, error_rate, whisper_model
from pipeline.text.markup import parse
from tests.conftest import REPO
from tests.engines.conftest import assert_speech, request

CACHE = REPO / "var" / "cache"


@pytest.fixture(scope="module")
def kokoro() -> KokoroEngine:
    engine = KokoroEngine(CACHE / "kokoro", num_threads=1)
    engine.load()
    return engine


def _heard(samples: np.ndarray, rate: int, lang: str) -> str:
    models = default_asr_models(CACHE / "models")
    asr = whisper_model(models["en"] if lang == "en" else models["*"])
    segments, _ = asr.transcribe(soxr.resample(samples, rate, 16000), language=lang, **GREEDY)
    return "".join(s.text for s in segments)


def test_the_model_is_joined_from_its_parts_and_verified_against_the_pinned_hash(tmp_path: Path) -> None:
    engine = KokoroEngine(tmp_path)
    model = engine.model_path()
    assert model.stat().st_size > 80_000_000
    assert (tmp_path / "kokoro-v1.0.int8.onnx.sha256").read_text() == MODEL_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == [model.name, f"{model.name}.sha256"]  # no temporary file
    with pytest.raises(ValueError, match="expected"):  # the same parts with another pin are refused, nothing kept
        join_parts([model], tmp_path / "other.onnx", "0" * 64)
    assert not (tmp_path / "other.onnx").exists()


@pytest.mark.parametrize(
    ("lang", "text", "limit"),
    [
        ("ja", "駅までの道を教えていただけますか。", 0.15),
        ("en", "Nobody on board spoke for the first hour.", 0.15),
        ("zh", "我们在上午九点靠岸，码头上只有一个老人。", 0.2),
    ],
)
def test_each_language_is_heard_as_written(kokoro: KokoroEngine, lang: str, text: str, limit: float) -> None:
    result = kokoro.synthesize(request(text, lang, voice=VoiceRef("k", engine_voice="jm_kumo")))
    assert_speech(result, 1.0, 8.0)
    assert result.sample_rate == 24000 and result.engine == "kokoro"
    heard = _heard(result.samples, result.sample_rate, lang)
    error, unit = error_rate(text, heard, lang)
    assert error <= limit, f"{lang}: heard {heard!r} ({error:.0%} {unit})"


def test_pinyin_and_arpabet_overrides_are_what_the_model_reads() -> None:
    # 好 read hào (fourth tone) where the dictionary says hǎo
    warnings: list[str] = []
    forced = phoneme_parts(parse("她[h][ào]干净。"), "zh", warnings)
    plain = phoneme_parts(parse("她好干净。"), "zh", warnings)
    assert pinyin_ipa("hao4") in str(forced[0][1]) and pinyin_ipa("hao3") in str(plain[0][1])
    assert pinyin_ipa("hao4") != pinyin_ipa("hao3")
    # an ARPAbet word becomes Kokoro's symbols (K AE1 P T AH0 N: ˈ for the stress, æ, ə)
    parts = phoneme_parts(parse("The [K][AE1][P][T][AH0][N] said so."), "en", warnings)
    assert len(parts) == 1 and "kˈæptən" in str(parts[0][1]), parts


def test_a_break_is_silence_of_its_length_between_two_calls(kokoro: KokoroEngine) -> None:
    parts = phoneme_parts(parse('駅まで歩こうか。<break time="700ms"/>傘は持ってる？'), "ja", [])
    assert [kind for kind, _ in parts] == ["phonemes", "pause", "phonemes"] and parts[1][1] == 0.7
    samples = kokoro.synthesize(request('駅まで歩こうか。<break time="700ms"/>傘は持ってる？', "ja")).samples
    quiet = np.abs(samples) < 1e-4
    longest = max((len(run) for run in "".join("1" if q else "0" for q in quiet).split("0")), default=0)
    assert longest >= 0.7 * 24000, f"longest silence {longest / 24000:.2f} s"


def test_output_is_deterministic_a_retake_differs_and_each_voice_is_its_own(kokoro: KokoroEngine) -> None:
    def speak(voice: str, take: int = 0) -> np.ndarray:
        base = request("今日はとても良い天気ですね。", "ja", voice=VoiceRef("k", engine_voice=voice))
        return kokoro.synthesize(replace(base, take=take)).samples

    first = speak("jf_alpha")
    assert np.array_equal(first, speak("jf_alpha"))
    assert len(speak("jf_alpha", take=1)) != len(first)  # spoken 4 % slower
    others = [speak(voice) for voice in ("jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")]
    assert all(not np.array_equal(first[: len(o)], o[: len(first)]) for o in others)


def test_unknown_voices_and_languages_are_refused_before_synthesis(kokoro: KokoroEngine) -> None:
    with pytest.raises(UnsupportedInputError, match="no voice 'af_heart'"):
        kokoro.check(request("Hello.", "en", voice=VoiceRef("k", engine_voice="af_heart")))
    with pytest.raises(UnsupportedInputError, match="does not speak 'ko'"):
        kokoro.check(request("안녕하세요", "ko"))


def test_the_fingerprint_names_the_model_without_loading_it(tmp_path: Path) -> None:
    engine = KokoroEngine(tmp_path / "never-joined")
    assert MODEL_SHA256[:12] in engine.fingerprint() and "misaki-0.9.4" in engine.fingerprint()
    assert not (tmp_path / "never-joined").exists()
    assert KokoroEngine(tmp_path, default_voice="jm_kumo").fingerprint() != engine.fingerprint()
