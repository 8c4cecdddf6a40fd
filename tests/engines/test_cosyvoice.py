"""The CosyVoice adapter against a stand-in of upstream's ``cosyvoice/cli/cosyvoice.py`` (same signatures, calls
recorded): the exact upstream calls per mode, markup rendering, break splitting, the speaker cache, and the errors a
GPU worker must see instead of silence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.engines.base import EngineError, EngineNotLoadedError, SynthesisRequest, UnsupportedInputError, VoiceRef
from pipeline.engines.cosyvoice import CosyVoiceEngine
from pipeline.text.markup import EVENTS, parse
from pipeline.text.style import parse_style
from tests.engines.cosyvoice_standin.cli import cosyvoice as standin
from tests.engines.cosyvoice_standin.utils import common as standin_common

STANDIN = "tests.engines.cosyvoice_standin.cli.cosyvoice"
SR = 24000
TRANSCRIPT = "希望你以后能够做的比我还好呦。"
V3_PREFIX = "You are a helpful assistant.<|endofprompt|>"


def write_wav(path: Path, seconds: float = 4.0, sample_rate: int = 16000, freq: float = 180.0) -> Path:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sample_rate)
    return path


@pytest.fixture
def ref_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "narrator.wav")


def make_model_dir(root: Path, name: str = "Fun-CosyVoice3-0.5B", yaml: str = "cosyvoice3.yaml", sr: int = SR) -> Path:
    model_dir = root / name
    model_dir.mkdir()
    (model_dir / yaml).write_text(f"sample_rate: {sr}\n", encoding="utf-8")
    return model_dir


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_model_dir(tmp_path)


@pytest.fixture
def engine(model_dir: Path) -> CosyVoiceEngine:
    engine = CosyVoiceEngine(model_dir, module=STANDIN)
    engine.load()
    return engine


def voice(ref: Path | None, text: str | None = TRANSCRIPT, lang: str | None = "zh", vid: str = "narrator") -> VoiceRef:
    return VoiceRef(vid, reference_wav=str(ref) if ref else None, reference_text=text, reference_lang=lang)


def req(text: str, v: VoiceRef, lang: str = "zh", style: str = "", speed: float = 1.0, seed: int | None = None):
    return SynthesisRequest(
        utterance=parse(text), lang=lang, voice=v, style=parse_style(style), speed=speed, seed=seed, line_id="L1"
    )


def calls(engine: CosyVoiceEngine, method: str) -> list[dict]:
    return [args for name, args in engine.upstream.calls if name == method]


def upstream_args(call: dict) -> dict:
    """The call's arguments, without what the stand-in adds (audio length, what it conditioned on)."""
    return {k: v for k, v in call.items() if k not in ("samples", "conditioned_on")}


# ------------------------------------------------------------------------------------------------ loading


def test_load_passes_upstream_options_and_reads_sample_rate(model_dir: Path):
    engine = CosyVoiceEngine(model_dir, fp16=True, module=STANDIN)
    assert engine.capabilities.sample_rate == 24000  # CosyVoice3's, before load
    with pytest.raises(EngineNotLoadedError):
        _ = engine.model_version
    engine.load()
    model = engine.upstream
    assert type(model) is standin.CosyVoice3
    assert model.calls[0] == (
        "__init__",
        {"model_dir": str(model_dir), "load_trt": False, "load_vllm": False, "fp16": True, "trt_concurrent": 1},
    )
    assert engine.model_version == "CosyVoice3/Fun-CosyVoice3-0.5B"
    caps = engine.capabilities
    assert caps.sample_rate == 24000 and caps.cloning and caps.instruct and caps.needs_gpu
    assert not caps.thread_safe  # the stand-in has no LLM decode step to make take turns (upstream's: contract test)
    assert caps.languages == frozenset("zh en ja ko de es fr it ru yue".split())
    assert caps.markup == {"pinyin", "phonemes", "break", "span:strong", "span:laughter"} | {
        f"event:{e}" for e in EVENTS
    }


def test_capabilities_follow_the_loaded_sample_rate(tmp_path: Path, ref_wav: Path):
    engine = CosyVoiceEngine(make_model_dir(tmp_path, sr=22050), module=STANDIN)
    engine.load()
    assert engine.capabilities.sample_rate == 22050
    result = engine.synthesize(req("你好", voice(ref_wav)))
    assert result.sample_rate == 22050


def test_synthesize_before_load_raises(model_dir: Path, ref_wav: Path):
    engine = CosyVoiceEngine(model_dir, module=STANDIN)
    with pytest.raises(EngineNotLoadedError, match="load"):
        engine.synthesize(req("你好", voice(ref_wav)))


def test_missing_model_dir_is_never_downloaded(tmp_path: Path):
    missing = tmp_path / "pretrained_models" / "Fun-CosyVoice3-0.5B"
    engine = CosyVoiceEngine(missing, module="no_such_package.cli.cosyvoice")
    with pytest.raises(EngineError, match="never downloaded") as info:
        engine.load()
    assert str(missing) in str(info.value)
    assert not engine.loaded


def test_model_dir_without_cosyvoice_yaml(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EngineError, match=r"cosyvoice3\.yaml"):
        CosyVoiceEngine(empty, module=STANDIN).load()


def test_cosyvoice_v1_is_refused(tmp_path: Path):
    with pytest.raises(EngineError, match="v1"):
        CosyVoiceEngine(make_model_dir(tmp_path, "CosyVoice-300M", "cosyvoice.yaml"), module=STANDIN).load()


def test_missing_upstream_module_says_how_to_fix(model_dir: Path):
    with pytest.raises(EngineError, match="Matcha-TTS"):
        CosyVoiceEngine(model_dir, module="no_such_package.cli.cosyvoice").load()


def test_falls_back_to_model_classes_without_automodel(model_dir: Path, ref_wav: Path):
    engine = CosyVoiceEngine(model_dir, module="tests.engines.cosyvoice_standin.cli.classes_only")
    engine.load()
    assert type(engine.upstream).__name__ == "CosyVoice3"
    assert engine.synthesize(req("你好", voice(ref_wav))).duration > 0


def test_module_import_pulls_in_neither_torch_nor_cosyvoice():
    code = "import sys, pipeline.engines.cosyvoice; print(sorted({'torch', 'cosyvoice'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd())
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------------ modes


def test_zero_shot_call(engine: CosyVoiceEngine, ref_wav: Path):
    result = engine.synthesize(req("收到好友从远方寄来的生日礼物。", voice(ref_wav)))
    prompt = V3_PREFIX + TRANSCRIPT
    (added,) = calls(engine, "add_zero_shot_spk")
    speaker = added["zero_shot_spk_id"]
    assert added == {"prompt_text": prompt, "prompt_wav": str(ref_wav), "zero_shot_spk_id": speaker}
    assert speaker.startswith("narrator@")
    (call,) = calls(engine, "inference_zero_shot")
    assert upstream_args(call) == {
        "tts_text": "收到好友从远方寄来的生日礼物。",
        "prompt_text": prompt,
        "prompt_wav": str(ref_wav),
        "zero_shot_spk_id": speaker,
        "stream": False,
        "speed": 1.0,
        "text_frontend": True,
    }
    assert call["conditioned_on"] == (prompt, str(ref_wav))
    assert engine.upstream.warnings == []  # upstream's missing-<|endofprompt|> warning did not fire
    assert result.sample_rate == 24000 and result.samples.dtype == np.float32 and result.samples.ndim == 1
    assert len(result.samples) == call["samples"]
    assert result.model_version == "CosyVoice3/Fun-CosyVoice3-0.5B" and result.warnings == ()


def test_cross_lingual_call(engine: CosyVoiceEngine, ref_wav: Path):
    engine.synthesize(req("And then later on, fully acquiring that company.", voice(ref_wav, text=None), lang="en-US"))
    assert calls(engine, "inference_zero_shot") == []
    (added,) = calls(engine, "add_zero_shot_spk")  # the cached prompt serves cross-lingual too
    assert added["prompt_text"] == V3_PREFIX
    (call,) = calls(engine, "inference_cross_lingual")
    assert upstream_args(call) == {
        "tts_text": V3_PREFIX + "And then later on, fully acquiring that company.",
        "prompt_wav": str(ref_wav),
        "zero_shot_spk_id": added["zero_shot_spk_id"],
        "stream": False,
        "speed": 1.0,
        "text_frontend": True,
    }


def test_unknown_reference_language_means_zero_shot(engine: CosyVoiceEngine, ref_wav: Path):
    engine.synthesize(req("Hello there.", voice(ref_wav, lang=None), lang="en"))
    assert len(calls(engine, "inference_zero_shot")) == 1


def test_instruct_passes_the_instruction_verbatim(engine: CosyVoiceEngine, ref_wav: Path):
    request = req(
        "收到好友从远方寄来的生日礼物。", voice(ref_wav, text=None), style="请非常开心地说一句话。", speed=1.1
    )
    assert request.effective_speed != request.speed  # "开心" speeds the CPU voices up ...
    engine.synthesize(request)
    instruct = "You are a helpful assistant. 请非常开心地说一句话。<|endofprompt|>"
    (call,) = calls(engine, "inference_instruct2")
    assert upstream_args(call) == {
        "tts_text": "收到好友从远方寄来的生日礼物。",
        "instruct_text": instruct,
        "prompt_wav": str(ref_wav),
        "zero_shot_spk_id": "",
        "stream": False,
        "speed": 1.1,  # ... but here the instruction carries the pace; only the time-fit factor is applied
        "text_frontend": True,
    }
    assert call["conditioned_on"] == instruct  # not the cached transcript (upstream's spk-id path would use it)


def test_instruct_written_in_upstream_form_is_not_doubled(engine: CosyVoiceEngine, ref_wav: Path):
    style = "You are a helpful assistant. Please say a sentence in a very soft voice.<|endofprompt|>"
    engine.synthesize(req("Good night.", voice(ref_wav), lang="en", style=style))
    (call,) = calls(engine, "inference_instruct2")
    assert call["instruct_text"] == style


def test_dialect_uses_cosyvoice3_wording(engine: CosyVoiceEngine, ref_wav: Path):
    result = engine.synthesize(req("今天天气真不错。", voice(ref_wav), style="用四川话说"))
    (call,) = calls(engine, "inference_instruct2")
    assert call["instruct_text"] == "You are a helpful assistant. 请用四川话表达。<|endofprompt|>"
    assert call["zero_shot_spk_id"] == "" and result.warnings == ()


def test_dialect_with_other_cues_warns_what_was_not_sent(engine: CosyVoiceEngine, ref_wav: Path):
    result = engine.synthesize(req("今天天气真不错。", voice(ref_wav), style="用广东话开心地说"))
    (call,) = calls(engine, "inference_instruct2")
    assert call["instruct_text"] == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"
    assert any("happy" in w for w in result.warnings)


def test_speed_is_passed_through(engine: CosyVoiceEngine, ref_wav: Path):
    slow = engine.synthesize(req("你好世界", voice(ref_wav), speed=1.0))
    fast = engine.synthesize(req("你好世界", voice(ref_wav), speed=1.25))
    assert [c["speed"] for c in calls(engine, "inference_zero_shot")] == [1.0, 1.25]
    assert len(fast.samples) < len(slow.samples)


def test_seed_uses_upstreams_seeding(engine: CosyVoiceEngine, ref_wav: Path):
    before = len(standin_common.SEEDS)
    engine.synthesize(req("你好", voice(ref_wav)))
    assert len(standin_common.SEEDS) == before
    engine.synthesize(req("你好", voice(ref_wav), seed=1234))
    assert standin_common.SEEDS[before:] == [1234]


# ------------------------------------------------------------------------------------------------ markup


@pytest.mark.parametrize(
    ("text", "lang", "tts_text", "text_frontend"),
    [
        ("她[h][ào]干净", "zh", "她[h][ào]干净", False),
        ("她[hao4]干净", "zh", "她[h][ào]干净", False),
        ("报道[ji3]予好评", "zh", "报道[j][ǐ]予好评", False),
        ("Say [K][L][IY1][R] now", "en", "Say [K][L][IY1][R] now", False),
        ("[breath]因为他们那一辈人[breath]", "zh", "[breath]因为他们那一辈人[breath]", True),
        ("他展现了非凡的<strong>勇气</strong>。", "zh", "他展现了非凡的<strong>勇气</strong>。", True),
        ("<laughter>好笑</laughter>[laughter]", "zh", "<laughter>好笑</laughter>[laughter]", True),
        ("a \\[b\\] c", "en", "a b c", True),
    ],
)
def test_markup_rendering(
    engine: CosyVoiceEngine, ref_wav: Path, text: str, lang: str, tts_text: str, text_frontend: bool
):
    result = engine.synthesize(req(text, voice(ref_wav, lang=lang), lang=lang))
    (call,) = calls(engine, "inference_zero_shot")
    assert call["tts_text"] == tts_text
    assert call["text_frontend"] is text_frontend
    assert not [w for w in result.warnings if "ignores" in w]


def test_break_splits_and_inserts_silence(engine: CosyVoiceEngine, ref_wav: Path):
    result = engine.synthesize(req('你好<break time="500ms"/>再见', voice(ref_wav)))
    first, second = calls(engine, "inference_zero_shot")
    assert (first["tts_text"], second["tts_text"]) == ("你好", "再见")
    n1, gap = first["samples"], round(0.5 * SR)
    assert len(result.samples) == n1 + gap + second["samples"]
    assert not result.samples[n1 : n1 + gap].any()
    assert np.abs(result.samples[:n1]).max() > 0.1 and np.abs(result.samples[n1 + gap :]).max() > 0.1
    assert len(calls(engine, "add_zero_shot_spk")) == 1


def test_break_inside_a_span_closes_and_reopens_it(engine: CosyVoiceEngine, ref_wav: Path):
    engine.synthesize(req("<strong>一[pause:0.2]二</strong>", voice(ref_wav)))
    assert [c["tts_text"] for c in calls(engine, "inference_zero_shot")] == [
        "<strong>一</strong>",
        "<strong>二</strong>",
    ]


def test_leading_and_adjacent_breaks(engine: CosyVoiceEngine, ref_wav: Path):
    result = engine.synthesize(req("[pause:0.25]你好[pause:0.1][pause:0.15]", voice(ref_wav)))
    (call,) = calls(engine, "inference_zero_shot")
    assert len(result.samples) == round(0.25 * SR) + call["samples"] + round(0.25 * SR)
    assert not result.samples[: round(0.25 * SR)].any()


def test_cross_lingual_segments_each_get_the_prefix(engine: CosyVoiceEngine, ref_wav: Path):
    engine.synthesize(req("One.[pause:0.3]Two.", voice(ref_wav), lang="en"))
    assert [c["tts_text"] for c in calls(engine, "inference_cross_lingual")] == [V3_PREFIX + "One.", V3_PREFIX + "Two."]


# ------------------------------------------------------------------------------------------------ speaker cache


def test_speaker_prompt_is_registered_once_per_voice(engine: CosyVoiceEngine, ref_wav: Path):
    engine.synthesize(req("第一句。", voice(ref_wav)))
    engine.synthesize(req("第二句。", voice(ref_wav)))
    (added,) = calls(engine, "add_zero_shot_spk")
    assert [c["zero_shot_spk_id"] for c in calls(engine, "inference_zero_shot")] == [added["zero_shot_spk_id"]] * 2
    other = write_wav(ref_wav.with_name("other.wav"), freq=300.0)
    engine.synthesize(req("第三句。", voice(other, vid="villain")))
    ids = [c["zero_shot_spk_id"].split("@")[0] for c in calls(engine, "add_zero_shot_spk")]
    assert ids == ["narrator", "villain"] and engine.prompt_extractions == 2


def test_changed_reference_clip_is_registered_again(engine: CosyVoiceEngine, ref_wav: Path):
    engine.synthesize(req("第一句。", voice(ref_wav)))
    write_wav(ref_wav, seconds=5.0, freq=250.0)
    engine.synthesize(req("第二句。", voice(ref_wav)))
    assert len(calls(engine, "add_zero_shot_spk")) == 2


def test_other_modes_leave_the_cached_speaker_intact(engine: CosyVoiceEngine, ref_wav: Path):
    # cross-lingual reads the cached speaker (upstream copies it before deleting the prompt keys); instruct2
    # passes '' so that upstream conditions on the instruction, not the cached transcript.
    v = voice(ref_wav)
    engine.synthesize(req("第一句。", v))
    engine.synthesize(req("Second line.", v, lang="en"))
    engine.synthesize(req("第三句。", v, style="用四川话说"))
    engine.synthesize(req("第四句。", v))
    zero_shot = calls(engine, "inference_zero_shot")
    assert [c["conditioned_on"][0] for c in zero_shot] == [V3_PREFIX + TRANSCRIPT] * 2
    assert len(calls(engine, "add_zero_shot_spk")) == 1


def test_load_is_idempotent(engine: CosyVoiceEngine, ref_wav: Path):
    model = engine.upstream
    engine.synthesize(req("第一句。", voice(ref_wav)))
    engine.load()
    engine.synthesize(req("第二句。", voice(ref_wav)))
    assert engine.upstream is model and len(calls(engine, "add_zero_shot_spk")) == 1


# ------------------------------------------------------------------------------------------------ refusals and failures


def test_missing_reference_clip(engine: CosyVoiceEngine):
    with pytest.raises(UnsupportedInputError, match="reference_wav"):
        engine.synthesize(req("你好", voice(None)))


def test_reference_clip_path_that_does_not_exist(engine: CosyVoiceEngine, tmp_path: Path):
    with pytest.raises(UnsupportedInputError, match="not a file"):
        engine.check(req("你好", voice(tmp_path / "gone.wav")))


def test_zero_shot_needs_the_reference_transcript(engine: CosyVoiceEngine, ref_wav: Path):
    with pytest.raises(UnsupportedInputError, match="reference_text"):
        engine.synthesize(req("你好", voice(ref_wav, text=None)))
    assert engine.upstream.calls[1:] == []


@pytest.mark.parametrize(("seconds", "sample_rate", "match"), [(31.0, 16000, "at most 30s"), (4.0, 8000, "16000 Hz")])
def test_reference_clip_limits(engine: CosyVoiceEngine, tmp_path: Path, seconds: float, sample_rate: int, match: str):
    ref = write_wav(tmp_path / "ref.wav", seconds=seconds, sample_rate=sample_rate)
    with pytest.raises(UnsupportedInputError, match=match):
        engine.check(req("你好", voice(ref)))


def test_short_reference_clip_warns(engine: CosyVoiceEngine, tmp_path: Path):
    ref = write_wav(tmp_path / "short.wav", seconds=1.5)
    result = engine.synthesize(req("你好", voice(ref)))
    assert any("at least 3s" in w for w in result.warnings)


def test_unsupported_language(engine: CosyVoiceEngine, ref_wav: Path):
    with pytest.raises(UnsupportedInputError, match="does not speak"):
        engine.check(req("Olá", voice(ref_wav), lang="pt"))


def test_nothing_to_say(engine: CosyVoiceEngine, ref_wav: Path):
    with pytest.raises(UnsupportedInputError, match="nothing to say"):
        engine.check(req("[pause:0.5]", voice(ref_wav)))


@pytest.mark.parametrize("fault", ["nan", "silent"])
def test_fp16_garbage_output_is_an_error(model_dir: Path, ref_wav: Path, fault: str):
    engine = CosyVoiceEngine(model_dir, fp16=True, module=STANDIN)
    engine.load()
    engine.upstream.fault = fault
    with pytest.raises(EngineError, match="fp16") as info:
        engine.synthesize(req("你好", voice(ref_wav)))
    assert "fp16=True" in str(info.value) and "L1" in str(info.value)


def test_upstream_exceptions_become_engine_errors(engine: CosyVoiceEngine, ref_wav: Path):
    engine.synthesize(req("你好", voice(ref_wav)))  # registers the speaker
    engine.upstream.frontend.spk2info.clear()  # upstream raises KeyError for a speaker id it does not know
    with pytest.raises(EngineError, match="KeyError"):
        engine.synthesize(req("再见", voice(ref_wav)))


# ------------------------------------------------------------------------------------------------ CosyVoice2


@pytest.fixture
def engine_v2(tmp_path: Path) -> CosyVoiceEngine:
    engine = CosyVoiceEngine(make_model_dir(tmp_path, "CosyVoice2-0.5B", "cosyvoice2.yaml"), module=STANDIN)
    engine.load()
    return engine


def test_cosyvoice2_conventions(engine_v2: CosyVoiceEngine, ref_wav: Path):
    assert engine_v2.model_version == "CosyVoice2/CosyVoice2-0.5B"
    assert engine_v2.upstream.calls[0][1]["load_jit"] is False
    assert "pinyin" not in engine_v2.capabilities.markup and "de" not in engine_v2.capabilities.languages
    engine_v2.synthesize(req("你好。", voice(ref_wav)))
    engine_v2.synthesize(req("Hello.", voice(ref_wav), lang="en"))
    engine_v2.synthesize(req("你好。", voice(ref_wav), style="用四川话说"))
    engine_v2.synthesize(req("你好。", voice(ref_wav), style="开心地说"))
    assert calls(engine_v2, "add_zero_shot_spk")[0]["prompt_text"] == TRANSCRIPT
    assert calls(engine_v2, "inference_zero_shot")[0]["prompt_text"] == TRANSCRIPT
    assert calls(engine_v2, "inference_cross_lingual")[0]["tts_text"] == "Hello."
    assert [c["instruct_text"] for c in calls(engine_v2, "inference_instruct2")] == [
        "用四川话说这句话<|endofprompt|>",
        "开心地说<|endofprompt|>",
    ]


def test_cosyvoice2_refuses_pronunciation_overrides(engine_v2: CosyVoiceEngine, ref_wav: Path):
    with pytest.raises(UnsupportedInputError, match="CosyVoice3"):
        engine_v2.check(req("她[h][ào]干净", voice(ref_wav)))


def test_pinyin_without_an_upstream_token_is_read_nearest_and_said() -> None:
    engine = CosyVoiceEngine("/nonexistent")
    pieces, warnings = engine.render(parse("略[lve4]和[er5]"))
    assert pieces == ["略[l][vè]和[èr]"]
    assert len(warnings) == 1 and "'er5'" in warnings[0] and "[èr]" in warnings[0]


@pytest.mark.parametrize(("flag", "capability"), [("load_trt", (7, 0)), ("load_vllm", (7, 0)), ("load_trt", None)])
def test_compiled_engines_are_refused_below_ampere(
    model_dir: Path, tmp_path: Path, flag: str, capability: tuple[int, int] | None
) -> None:
    engine = CosyVoiceEngine(
        model_dir, module=STANDIN, compile_dir=tmp_path / "cache", gpu_capability=lambda: capability, **{flag: True}
    )
    with pytest.raises(EngineError, match=rf"{flag} need a GPU of compute capability 8.0") as info:
        engine.load()
    assert ("7.0" in str(info.value)) == (capability is not None)
    assert not (tmp_path / "cache").exists()


def test_compiled_engines_write_to_the_compile_dir_not_the_model_share(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / "flow.pt").write_bytes(b"weights")
    before = sorted(p.name for p in model_dir.iterdir())
    engine = CosyVoiceEngine(
        model_dir, module=STANDIN, load_trt=True, compile_dir=tmp_path / "cache", gpu_capability=lambda: (8, 6)
    )
    engine.load()
    upstream_dir = Path(engine.upstream.model_dir)
    assert upstream_dir.parent == tmp_path / "cache" and upstream_dir.name.startswith(model_dir.name + "-")
    assert (upstream_dir / "flow.pt").resolve() == (model_dir / "flow.pt").resolve()
    (upstream_dir / "flow.decoder.estimator.fp32.mygpu.plan").write_bytes(b"plan")  # what upstream's load_trt writes
    assert sorted(p.name for p in model_dir.iterdir()) == before
    again = CosyVoiceEngine(
        model_dir, module=STANDIN, load_trt=True, compile_dir=tmp_path / "cache", gpu_capability=lambda: (8, 6)
    )
    again.load()
    assert Path(again.upstream.model_dir) == upstream_dir  # the plan built once is found again


def test_compiled_engines_need_a_compile_dir(model_dir: Path) -> None:
    engine = CosyVoiceEngine(model_dir, module=STANDIN, load_vllm=True, gpu_capability=lambda: (9, 0))
    with pytest.raises(EngineError, match="compile_dir"):
        engine.load()


def test_japanese_reaches_cosyvoice3_as_katakana(engine: CosyVoiceEngine, ref_wav: Path) -> None:
    engine.synthesize(req("今日はいい天気です。", voice(ref_wav, lang="zh"), lang="ja"))
    (call,) = calls(engine, "inference_cross_lingual")
    assert call["tts_text"].endswith("キョー ワ イー テンキ デス。")  # いい as spoken: イー
