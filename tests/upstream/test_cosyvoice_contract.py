"""The adapter against upstream's real ``AutoModel`` / ``CosyVoice3`` (commit ace7c47) on CPU.

Random weights make noise: what is asserted is what upstream receives and returns (sample rate, shapes, tokens,
the instruction reaching its frontend, how often it extracts the prompt), never audio quality.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.engines.base import SynthesisRequest, VoiceRef
from pipeline.engines.cosyvoice import CosyVoiceEngine
from pipeline.text.markup import parse
from pipeline.text.style import parse_style
from tests.upstream.conftest import TRANSCRIPT


class Spy:
    """Counts and records calls to upstream's own frontend methods (their behaviour is untouched)."""

    def __init__(self, frontend: Any, names: tuple[str, ...]):
        self.counts: Counter[str] = Counter()
        self.args: dict[str, list[tuple]] = {n: [] for n in names}
        for name in names:
            original = getattr(frontend, name)

            def wrapper(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                self.counts[_name] += 1
                self.args[_name].append(args + tuple(kwargs.values()))
                return _original(*args, **kwargs)

            setattr(frontend, name, wrapper)


EXTRACTORS = ("_extract_speech_token", "_extract_spk_embedding", "_extract_speech_feat")


@pytest.fixture
def engine(tiny_model: Path) -> CosyVoiceEngine:
    engine = CosyVoiceEngine(tiny_model)
    engine.load()
    return engine


@pytest.fixture
def spy(engine: CosyVoiceEngine) -> Spy:
    return Spy(engine.upstream.frontend, (*EXTRACTORS, "_extract_text_token", "frontend_instruct2"))


def voice(prompt_wav: Path, lang: str = "zh", text: str | None = TRANSCRIPT) -> VoiceRef:
    return VoiceRef("narrator", reference_wav=str(prompt_wav), reference_text=text, reference_lang=lang)


def req(text: str, v: VoiceRef, lang: str = "zh", style: str = "") -> SynthesisRequest:
    return SynthesisRequest(utterance=parse(text), lang=lang, voice=v, style=parse_style(style), seed=7, line_id="L1")


def test_upstream_loads_the_model_as_cosyvoice3(engine: CosyVoiceEngine) -> None:
    assert type(engine.upstream).__name__ == "CosyVoice3"
    assert engine.capabilities.sample_rate == engine.upstream.sample_rate == 24000
    assert engine.capabilities.thread_safe  # its LLM's decode steps were found and made to take turns


def test_zero_shot_from_the_human_reference(engine: CosyVoiceEngine, spy: Spy, prompt_wav: Path) -> None:
    result = engine.synthesize(req("收到好友从远方寄来的生日礼物。", voice(prompt_wav)))
    assert result.sample_rate == 24000 and result.samples.dtype == np.float32 and result.samples.ndim == 1
    assert len(result.samples) % 480 == 0 and len(result.samples) > 0  # whole mel frames of upstream's vocoder
    assert np.isfinite(result.samples).all()
    assert spy.counts["_extract_speech_token"] == 1


def test_ten_lines_of_one_voice_extract_its_prompt_once(engine: CosyVoiceEngine, spy: Spy, prompt_wav: Path) -> None:
    v = voice(prompt_wav)
    for i in range(5):
        engine.synthesize(req(f"第{i}句话。", v))
    for i in range(5):
        engine.synthesize(req(f"Line number {i}.", v, lang="en"))  # cross-lingual
    assert {name: spy.counts[name] for name in EXTRACTORS} == dict.fromkeys(EXTRACTORS, 1)
    assert engine.prompt_extractions == 1


def test_instruct2_with_a_dialect_reaches_upstreams_frontend(
    engine: CosyVoiceEngine, spy: Spy, prompt_wav: Path
) -> None:
    engine.synthesize(req("好少咯，一般系放嗰啲国庆啊。", voice(prompt_wav, text=None), style="粤语"))
    ((tts_text, instruct_text, wav, *_rest),) = spy.args["frontend_instruct2"]
    assert tts_text == "好少咯，一般系放嗰啲国庆啊。"
    assert instruct_text == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"
    assert wav == str(prompt_wav) and _rest[-1] == ""  # no cached id: the instruction, not a transcript
    assert spy.counts["_extract_speech_token"] == 1


def test_every_markup_bracket_is_one_special_token(engine: CosyVoiceEngine, spy: Spy, prompt_wav: Path) -> None:
    text = "报道[j][ǐ]予好评，[略][lve4]，[K][L][IY1][R] 说[breath]完<strong>了</strong>[laughter]"
    text = text.replace("[略]", "")
    pieces, _ = engine.render(parse(text))
    engine.synthesize(req(text, voice(prompt_wav)))
    tokenizer = engine.upstream.frontend.tokenizer.tokenizer  # upstream's CosyVoice3Tokenizer's HF tokenizer
    sent = [args[0] for args in spy.args["_extract_text_token"]]
    assert pieces[0] in sent  # upstream skips its normalizer (text_frontend=False) and tokenizes our text
    ids = tokenizer.encode(pieces[0])
    brackets = [
        "[j]",
        "[ǐ]",
        "[l]",
        "[vè]",
        "[K]",
        "[L]",
        "[IY1]",
        "[R]",
        "[breath]",
        "<strong>",
        "</strong>",
        "[laughter]",
    ]
    for bracket in brackets:
        encoded = tokenizer.encode(bracket)
        assert len(encoded) == 1 and encoded[0] in tokenizer.all_special_ids, bracket
        assert encoded[0] in ids, bracket


def test_breaks_split_the_line_and_insert_silence(engine: CosyVoiceEngine, spy: Spy, prompt_wav: Path) -> None:
    result = engine.synthesize(req('前半句。<break time="400ms"/>后半句。', voice(prompt_wav)))
    tts_texts = [args[0] for args in spy.args["_extract_text_token"] if args[0] in ("前半句。", "后半句。")]
    assert tts_texts == ["前半句。", "后半句。"]
    audio = result.samples
    zeros = np.flatnonzero(audio == 0.0)
    assert len(zeros) >= int(0.4 * 24000)


def test_long_text_is_split_by_upstream_and_joined(engine: CosyVoiceEngine, spy: Spy, prompt_wav: Path) -> None:
    sentence = "收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐，笑容如花儿般绽放。"
    engine.synthesize(req(sentence * 4, voice(prompt_wav)))
    spoken = [args[0] for args in spy.args["_extract_text_token"] if "礼物" in args[0]]
    assert len(spoken) > 1  # upstream's text_normalize cut it into sentences of at most 80 tokens


def test_a_worker_that_starts_later_loads_the_prompt_from_staging(
    upstream: Path, tiny_model: Path, prompt_wav: Path, store: Any
) -> None:
    import cloudpickle
    from distributed import Client, LocalCluster

    from pipeline.storage.store import resolve_connection
    from tests.upstream import workers

    cloudpickle.register_pickle_by_value(workers)
    connection = resolve_connection(store.settings)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:  # fmt: skip
        first, second = sorted(client.scheduler_info()["workers"])
        args = (str(upstream), str(tiny_model), str(prompt_wav), TRANSCRIPT, store.settings, connection)
        a = client.submit(workers.speak, *args, workers=[first], pure=False).result(timeout=240)
        b = client.submit(workers.speak, *args, workers=[second], pure=False).result(timeout=240)
    assert a["worker"] != b["worker"]
    assert (a["extractions"], a["loads"]) == (1, 0) and set(a["calls"].values()) == {1}
    assert (b["extractions"], b["loads"]) == (0, 1) and set(b["calls"].values()) == {0}
    assert [o.key.rsplit(".", 1)[1] for o in store.list("staging", "prompts/")] == ["pt"]
    # the loaded prompt is the extracted one: same seed, same audio
    assert np.array_equal(a["samples"], b["samples"])


def test_two_lines_in_flight_on_one_model(engine: CosyVoiceEngine, prompt_wav: Path) -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    model = engine.upstream.model  # upstream's CosyVoice3Model: its tts() is what runs per line
    spans: list[tuple[float, float]] = []
    original = model.tts

    def timed_tts(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        yield from original(*args, **kwargs)
        spans.append((start, time.perf_counter()))

    model.tts = timed_tts
    v = voice(prompt_wav)
    barrier = threading.Barrier(2)

    def speak(i: int) -> np.ndarray:
        if i < 2:
            barrier.wait()
        text = "收到好友从远方寄来的生日礼物。" if i % 2 else "Hello there, how are you today?"
        return engine.synthesize(req(text, v, lang="zh" if i % 2 else "en")).samples

    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(speak, range(4)))
    assert all(np.isfinite(o).all() for o in outputs)
    assert engine.prompt_extractions == 1  # the two first lines raced for the same voice
    spans.sort()
    assert any(b_start < a_end for (_, a_end), (b_start, _) in pairwise(spans))  # overlapped
    # Whole lines, as long as each is alone (the tiny LM always ends at upstream's min_len): with transformers'
    # hidden-state recorder patched by two decodes at once, a line's LLM thread died and it was voiced cut short.
    alone = [len(speak(i)) for i in (2, 3)]
    assert [len(o) for o in outputs] == alone * 2


def test_a_failed_llm_thread_fails_its_line_with_the_cause(engine: CosyVoiceEngine, prompt_wav: Path) -> None:
    """Upstream prints a dead LLM thread's exception and voices the tokens made so far; the adapter raises it."""
    from pipeline.engines.base import EngineError

    qwen = engine.upstream.model.llm.llm.model  # the Qwen2ForCausalLM each decode step calls
    forward, steps = qwen.forward, []

    def fails_at_step_five(*args: Any, **kwargs: Any) -> Any:
        steps.append(1)
        if len(steps) == 5:
            raise RuntimeError("CUDA out of memory (injected)")
        return forward(*args, **kwargs)

    qwen.forward = fails_at_step_five
    with pytest.raises(EngineError, match=r"line L1 .*LLM thread failed mid-line: RuntimeError: CUDA out of memory"):
        engine.synthesize(req("Hello there, how are you today?", voice(prompt_wav), lang="en"))
    model = engine.upstream.model
    assert not (model.tts_speech_token_dict or model.llm_end_dict or model.hift_cache_dict)  # nothing left behind
    qwen.forward = forward
    assert len(engine.synthesize(req("Hello there, how are you today?", voice(prompt_wav), lang="en")).samples) > 0


def test_nan_from_upstreams_vocoder_is_an_error_not_a_clip(tiny_model: Path, prompt_wav: Path) -> None:
    """The fp16 field failure, made for real: NaN weights in upstream's HiFT vocoder."""
    import torch

    from pipeline.engines.base import BadAudioError

    engine = CosyVoiceEngine(tiny_model)
    engine.load()
    with torch.no_grad():
        for parameter in engine.upstream.model.hift.parameters():
            parameter.fill_(float("nan"))
    with pytest.raises(BadAudioError, match="NaN"):
        engine.synthesize(req("收到好友从远方寄来的生日礼物。", voice(prompt_wav)))
