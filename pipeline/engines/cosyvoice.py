"""CosyVoice2 / CosyVoice3 (github.com/FunAudioLLM/CosyVoice) behind the ``Engine`` interface: the GPU production
voice, zero-shot cloned from a 3-30 s reference clip.

Upstream is a source checkout, not a wheel: ``cosyvoice/cli/cosyvoice.py`` is imported lazily in ``_load()`` by its
dotted name (injectable, so tests run this adapter against a stand-in with upstream's signatures). Nothing here
imports torch at module import time, and nothing ever downloads weights: upstream's ``AutoModel`` calls modelscope's
``snapshot_download`` for a directory that does not exist, so the directory is checked first.

What upstream expects, as of the CosyVoice3 release (``cosyvoice/cli/cosyvoice.py``, ``cli/frontend.py``,
``example.py``):

* ``prompt_wav`` is a **path**. Older checkouts took ``prompt_speech_16k`` (a 16 kHz tensor from ``load_wav``);
  the current frontend calls ``load_wav(prompt_wav, 16000/24000)`` itself. Checkouts with the old signature are
  refused at load time rather than fed a path they would treat as a tensor.
* CosyVoice3 prompts carry ``<|endofprompt|>``: zero-shot ``prompt_text`` is
  ``"You are a helpful assistant.<|endofprompt|>" + transcript``; cross-lingual puts that prefix in front of
  ``tts_text``; instruct2 takes ``"You are a helpful assistant. {instruction}<|endofprompt|>"``. CosyVoice2 takes
  the bare transcript, the bare text, and ``"{instruction}<|endofprompt|>"``.
* The speaker cache (``add_zero_shot_spk``): a voice's reference clip is extracted once per loaded model and the
  cached entry serves zero-shot and cross-lingual calls. Since upstream 3b44913 (2025-12-29) the frontend returns a
  copy of the cached entry, so cross-lingual's ``del`` of the prompt keys no longer corrupts it. instruct2 still
  passes ``zero_shot_spk_id=''``: with a cached id upstream would condition on the cached transcript and drop the
  instruction.
* Seeding: ``cosyvoice.utils.common.set_all_random_seed(seed)`` (random, numpy, torch, cuda) from the injected
  module's package; if that is missing, random/numpy (and torch if already imported) are seeded here.

CosyVoice has no break token, so breaks split the utterance: each segment is synthesized on its own and the
pause is inserted as zeros. Known field problems (fp16 NaN or silent output) are caught here and raised as
``EngineError`` so the worker retries or quarantines instead of publishing silence.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import logging
import random
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.digest import file_digest
from pipeline.engines import cosyvoice_tokens
from pipeline.engines.base import (
    BadAudioError,
    Capabilities,
    Engine,
    EngineError,
    EngineNotLoadedError,
    SynthesisRequest,
    UnsupportedInputError,
    silence,
)
from pipeline.engines.cosyvoice_guards import decode_steps_take_turns, llm_failures_raise
from pipeline.text.katakana import to_katakana
from pipeline.text.markup import EVENTS, Break, Event, Phonemes, Pinyin, Segment, Span, Text, Utterance, features
from pipeline.text.style import DIALECTS, Style

log = logging.getLogger(__name__)

DEFAULT_MODULE = "cosyvoice.cli.cosyvoice"
SYSTEM_PROMPT = "You are a helpful assistant."
ENDOFPROMPT = "<|endofprompt|>"

ZERO_SHOT = "zero_shot"
CROSS_LINGUAL = "cross_lingual"
INSTRUCT = "instruct2"

V3_LANGUAGES = frozenset("zh en ja ko de es fr it ru yue".split())
V2_LANGUAGES = frozenset("zh en ja ko yue".split())
V3_MARKUP = frozenset({"pinyin", "phonemes", "break", "span:strong", "span:laughter", *(f"event:{e}" for e in EVENTS)})
V2_MARKUP = V3_MARKUP - {"pinyin", "phonemes"}  # CosyVoice2's tokenizer has no pinyin/ARPAbet tokens

# TensorRT >= 10.5 (upstream pins 10.13, requirements.txt) has no Volta kernels, and upstream's vLLM path runs the
# LLM in bf16 (cosyvoice/vllm/cosyvoice2.py), which Volta lacks: both need Ampere (compute capability 8.0) or newer.
MIN_COMPILED_CAPABILITY = (8, 0)
MAX_REFERENCE_S = 30.0  # upstream asserts this when extracting speech tokens
MIN_REFERENCE_S = 3.0
MIN_REFERENCE_SR = 16000  # upstream load_wav refuses to upsample
SILENT_PEAK = 1e-6

_YAMLS = (("cosyvoice3.yaml", "CosyVoice3"), ("cosyvoice2.yaml", "CosyVoice2"), ("cosyvoice.yaml", "CosyVoice"))
_EMPTY_SPAN = re.compile(r"<(strong|laughter)>\s*</\1>")
_SPECIAL_CHARS = str.maketrans("", "", "[]<>")


class PromptStore(Protocol):
    """Where extracted speaker prompts outlive a worker (``pipeline.storage.prompt_store``), by content digest."""

    def get(self, digest: str) -> bytes | None: ...

    def put(self, digest: str, data: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class _Plan:
    mode: str
    instruct_text: str | None
    warnings: tuple[str, ...]


def _lang_key(tag: str | None) -> str | None:
    if not tag:
        return None
    value = tag.strip().replace("_", "-").lower()
    if value.startswith("yue") or value == "zh-yue":
        return "yue"
    primary = value.split("-", 1)[0]
    return "zh" if primary == "cmn" else primary


def _cuda_capability() -> tuple[int, int] | None:
    """The compute capability of this worker's GPU (``CUDA_VISIBLE_DEVICES`` shows one), or None without CUDA."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    major, minor = torch.cuda.get_device_capability()
    return int(major), int(minor)


def to_numpy(speech: Any) -> np.ndarray:
    """``tts_speech`` (torch tensor on any device/dtype, numpy array, or anything with the same methods) →
    float32 mono 1-D."""
    x = speech
    if not isinstance(x, np.ndarray):
        if hasattr(x, "detach"):
            x = x.detach()
        if hasattr(x, "cpu"):
            x = x.cpu()
        if hasattr(x, "float"):
            x = x.float()  # fp16/bf16 tensors cannot go to numpy directly
        x = x.numpy() if hasattr(x, "numpy") else np.asarray(x)
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 2 and arr.shape[0] > 1 and arr.shape[0] < arr.shape[1]:
        return arr.mean(axis=0)
    return arr.reshape(-1)


class CosyVoiceEngine(Engine):
    name = "cosyvoice"

    def __init__(
        self,
        model_dir: str | Path,
        fp16: bool = False,
        load_trt: bool = False,
        load_vllm: bool = False,
        module: str = DEFAULT_MODULE,
        compile_dir: str | Path | None = None,
        gpu_capability: Callable[[], tuple[int, int] | None] | None = None,
        prompt_store: PromptStore | None = None,
    ):
        super().__init__()
        self.model_dir = Path(model_dir)
        self.fp16 = fp16
        self.load_trt = load_trt
        self.load_vllm = load_vllm
        self.module = module
        self.compile_dir = Path(compile_dir) if compile_dir is not None else None
        self._gpu_capability = gpu_capability or _cuda_capability
        self._model: Any = None
        self._v3 = True
        self._capabilities = self._make_capabilities(v3=True, sample_rate=24000)
        self._speakers: dict[str, str] = {}  # upstream speaker id → voice id
        self.prompt_store = prompt_store
        self._speaker_lock = threading.Lock()
        self.prompt_extractions = 0  # reference clips run through upstream's feature extraction
        self.prompt_loads = 0  # prompts loaded from the prompt store instead

    # ------------------------------------------------------------------------------------------------ loading

    @staticmethod
    def _make_capabilities(v3: bool, sample_rate: int, thread_safe: bool = True) -> Capabilities:
        return Capabilities(
            languages=V3_LANGUAGES if v3 else V2_LANGUAGES,
            cloning=True,
            instruct=True,
            markup=V3_MARKUP if v3 else V2_MARKUP,
            sample_rate=sample_rate,
            needs_gpu=True,
            # Non-streaming calls only (the adapter never streams): upstream's model keeps per-request state
            # under its own lock and runs the LLM on its own CUDA stream; its gRPC server runs 4 threads on one
            # model. Its LLM's decode steps take turns (cosyvoice_guards: transformers' hidden-state recorder is
            # not thread-safe); a model without that guard serves one line at a time. How many lines a GPU
            # worker runs at once is dask.cuda.lines_per_gpu.
            thread_safe=thread_safe,
        )

    @property
    def capabilities(self) -> Capabilities:
        """CosyVoice3's before load (what a router may assume); the loaded model's version and sample rate after."""
        return self._capabilities

    @property
    def upstream(self) -> Any:
        """The loaded upstream model object (``CosyVoice3`` / ``CosyVoice2``)."""
        if self._model is None:
            raise EngineNotLoadedError(f"{self.name}: call load() first")
        return self._model

    @property
    def model_version(self) -> str:
        if self._model is None:
            raise EngineNotLoadedError(f"{self.name}: the model version is known after load()")
        return f"{type(self._model).__name__}/{self.model_dir.name}"

    def _fingerprint(self) -> str:
        configs = sorted(self.model_dir.glob("cosyvoice*.yaml")) if self.model_dir.is_dir() else []
        identity = ",".join(f"{c.name}@{file_digest(c)[:12]}" for c in configs) or "no-config"
        return f"cosyvoice/{self.model_dir.name}/{identity}/fp16={self.fp16}"

    def _load(self) -> None:
        model_dir = self.model_dir
        if not model_dir.is_dir():
            raise EngineError(
                f"{self.name}: model directory {model_dir} does not exist. Weights are never downloaded at run "
                "time: put the model on shared storage and point engines.cosyvoice.model_dir at it."
            )
        kind = next((cls for yaml, cls in _YAMLS if (model_dir / yaml).is_file()), None)
        if kind is None:
            raise EngineError(
                f"{self.name}: {model_dir} holds no cosyvoice3.yaml or cosyvoice2.yaml: not a CosyVoice2/3 model"
            )
        if kind == "CosyVoice":
            raise EngineError(f"{self.name}: {model_dir} is a CosyVoice v1 model; only CosyVoice2/3 are supported")
        try:
            module = importlib.import_module(self.module)
        except ImportError as exc:
            raise EngineError(
                f"{self.name}: cannot import {self.module} ({exc}). Put the CosyVoice checkout and its "
                "third_party/Matcha-TTS on PYTHONPATH and install the 'gpu' extra."
            ) from exc
        factory = getattr(module, "AutoModel", None) or getattr(module, kind, None)
        if factory is None:
            raise EngineError(f"{self.name}: {self.module} has neither AutoModel nor {kind}")
        upstream_dir = self._compiled_overlay() if (self.load_trt or self.load_vllm) else model_dir
        # Both CosyVoice2 and CosyVoice3 take load_trt/load_vllm/fp16; only v1/v2 take load_jit (not used).
        try:
            model = factory(
                model_dir=str(upstream_dir), load_trt=self.load_trt, load_vllm=self.load_vllm, fp16=self.fp16
            )
        except Exception as exc:  # upstream raises ValueError/AssertionError/TypeError/CUDA errors
            raise EngineError(f"{self.name}: loading {model_dir} failed: {type(exc).__name__}: {exc}") from exc
        names = {cls.__name__ for cls in type(model).__mro__}
        if "CosyVoice2" not in names or not hasattr(model, "inference_instruct2"):
            raise EngineError(f"{self.name}: {type(model).__name__} is not a CosyVoice2/3 model")
        params = inspect.signature(model.inference_zero_shot).parameters
        if "prompt_wav" not in params:
            raise EngineError(
                f"{self.name}: this CosyVoice checkout predates the prompt_wav API (inference_zero_shot takes "
                f"{', '.join(params)}); update the checkout"
            )
        sample_rate = getattr(model, "sample_rate", None)
        if not isinstance(sample_rate, int) or sample_rate <= 0:
            raise EngineError(f"{self.name}: loaded model reports no sample_rate ({sample_rate!r})")
        shareable = decode_steps_take_turns(model)
        if not llm_failures_raise(model):
            log.warning("%s: this CosyVoice has no llm_job/token2wav: a failed LLM thread goes unseen", self.name)
        self._model = model
        self._v3 = "CosyVoice3" in names
        self._capabilities = self._make_capabilities(v3=self._v3, sample_rate=sample_rate, thread_safe=shareable)
        self._speakers.clear()

    def _compiled_overlay(self) -> Path:
        """A writable twin of the model directory for what upstream compiles into it.

        ``load_trt`` writes ``<model_dir>/flow.decoder.estimator.*.mygpu.plan`` and ``load_vllm`` exports
        ``<model_dir>/vllm`` (``cosyvoice/cli/cosyvoice.py``), but the model share is mounted read-only. The twin
        holds a link to every file of the model and takes the compiled files; it is keyed by the model's
        fingerprint, so a new model never loads another's plans."""
        capability = self._gpu_capability()
        wanted = " and ".join(n for n, on in (("load_trt", self.load_trt), ("load_vllm", self.load_vllm)) if on)
        if capability is None or capability < MIN_COMPILED_CAPABILITY:
            found = (
                "no CUDA GPU" if capability is None else f"a GPU of compute capability {capability[0]}.{capability[1]}"
            )
            raise EngineError(
                f"{self.name}: {wanted} need a GPU of compute capability 8.0 or newer (TensorRT 10.5+ dropped "
                f"Volta; upstream's vLLM path runs bf16) and this worker has {found}: set "
                "engines.cosyvoice.load_trt and load_vllm to false (V100s run the PyTorch path)"
            )
        if self.compile_dir is None:
            raise EngineError(
                f"{self.name}: {wanted} compile into the model directory; set engines.cosyvoice.compile_dir to a "
                "writable cache volume (the model share stays read-only)"
            )
        overlay = (
            self.compile_dir / f"{self.model_dir.name}-{hashlib.sha256(self._fingerprint().encode()).hexdigest()[:12]}"
        )
        try:
            overlay.mkdir(parents=True, exist_ok=True)
            for entry in self.model_dir.iterdir():
                link = overlay / entry.name
                if not link.exists() and not link.is_symlink():
                    link.symlink_to(entry.resolve())
        except OSError as exc:
            raise EngineError(f"{self.name}: cannot prepare the compile cache {overlay}: {exc}") from exc
        return overlay

    # ------------------------------------------------------------------------------------------------ planning

    def plan(self, request: SynthesisRequest) -> _Plan:
        """Which upstream call speaks the request, with what instruction: instruct2 when the style carries an
        instruction or a dialect, cross-lingual when the line's language differs from the reference's,
        zero-shot otherwise."""
        style: Style = request.style
        warnings: list[str] = []
        instruction: str | None = None
        if style.dialect:
            # CosyVoice3: 请用四川话表达。 (upstream instruct_list); CosyVoice2: upstream example.py's wording
            instruction = style.dialect_instruction if self._v3 else f"用{DIALECTS[style.dialect].name_zh}说这句话"
            if style.cues:
                warnings.append(
                    f"{self.name}: instruction '{style.instruction}' sent as the dialect instruction only "
                    f"('{instruction}'); other cues {list(style.cues)} are not sent"
                )
        elif style.instruction.strip():
            instruction = style.instruction.strip()
            instruction = instruction.replace(ENDOFPROMPT, "").strip()
            if instruction.startswith(SYSTEM_PROMPT):
                instruction = instruction[len(SYSTEM_PROMPT) :].strip()
        if instruction:
            return _Plan(INSTRUCT, self._instruct_text(instruction), tuple(warnings))
        line, ref = _lang_key(request.lang), _lang_key(request.voice.reference_lang)
        if ref is not None and line != ref:
            return _Plan(CROSS_LINGUAL, None, tuple(warnings))
        return _Plan(ZERO_SHOT, None, tuple(warnings))

    def _instruct_text(self, instruction: str) -> str:
        if self._v3:
            return f"{SYSTEM_PROMPT} {instruction}{ENDOFPROMPT}"
        return f"{instruction}{ENDOFPROMPT}"

    def _prompt_text(self, transcript: str) -> str:
        return f"{SYSTEM_PROMPT}{ENDOFPROMPT}{transcript}" if self._v3 else transcript

    def check(self, request: SynthesisRequest) -> None:
        super().check(request)
        voice = request.voice
        if not voice.reference_wav:
            raise UnsupportedInputError(
                f"{self.name} clones from a reference clip: voice '{voice.id}' has no reference_wav (a local path)"
            )
        ref = Path(voice.reference_wav)
        if not ref.is_file():
            raise UnsupportedInputError(f"{self.name}: reference clip {ref} of voice '{voice.id}' is not a file")
        if self.plan(request).mode == ZERO_SHOT and not (voice.reference_text or "").strip():
            raise UnsupportedInputError(
                f"{self.name}: zero-shot cloning needs the reference transcript: voice '{voice.id}' has no "
                "reference_text (give one, or a reference_lang different from the line's for cross-lingual)"
            )
        duration, sample_rate = self._reference_info(ref)
        if duration > MAX_REFERENCE_S:
            raise UnsupportedInputError(
                f"{self.name}: reference clip {ref} is {duration:.1f}s; CosyVoice takes at most {MAX_REFERENCE_S:g}s"
            )
        if sample_rate < MIN_REFERENCE_SR:
            raise UnsupportedInputError(
                f"{self.name}: reference clip {ref} is {sample_rate} Hz; CosyVoice needs >= {MIN_REFERENCE_SR} Hz"
            )
        if not self._v3 and features(request.utterance) & {"pinyin", "phonemes"}:
            raise UnsupportedInputError(
                f"{self.name}: pinyin/ARPAbet overrides need CosyVoice3 (the loaded {type(self._model).__name__} "
                "has no such tokens)"
            )
        if self._reads_katakana(request) and importlib.util.find_spec("fugashi") is None:
            raise UnsupportedInputError(
                f"{self.name}: line {request.line_id or '?'} is Japanese, which CosyVoice3 reads from katakana only; "
                "install the 'ja' extra (fugashi + unidic-lite) on the GPU workers"
            )
        if not any(isinstance(piece, str) for piece in self.render(request.utterance)[0]):
            raise UnsupportedInputError(f"{self.name}: line {request.line_id or '?'} has nothing to say")

    def _reference_info(self, ref: Path) -> tuple[float, int]:
        import soundfile

        try:
            info = soundfile.info(str(ref))
        except Exception as exc:  # soundfile.LibsndfileError and friends
            raise UnsupportedInputError(f"{self.name}: cannot read reference clip {ref}: {exc}") from exc
        return info.frames / info.samplerate, info.samplerate

    # ------------------------------------------------------------------------------------------------ markup

    def _reads_katakana(self, request: SynthesisRequest) -> bool:
        """CosyVoice3 reads Japanese from katakana only (upstream ``example.py``)."""
        return self._v3 and _lang_key(request.lang) == "ja"

    def render(self, utterance: Utterance, katakana: bool = False) -> tuple[list[str | float], list[str]]:
        """The utterance as CosyVoice text pieces (``str``) and pauses (``float`` seconds), plus warnings.

        ``katakana``: Japanese text runs are given as their katakana pronunciation (``pipeline.text.katakana``).

        Pinyin → ``[h][ào]``, ARPAbet → ``[K][L][IY1][R]``, events → ``[breath]``, spans → ``<strong>…</strong>``
        (closed before and reopened after a break inside them). Literal ``[ ] < >`` in text runs are dropped:
        they are never spoken and could otherwise spell a control token."""
        pieces: list[str | float] = []
        buf: list[str] = []
        open_spans: list[str] = []
        warnings: list[str] = []

        def flush() -> None:
            text = "".join(buf)
            buf.clear()
            while (cleaned := _EMPTY_SPAN.sub("", text)) != text:
                text = cleaned
            if text.strip():
                pieces.append(text.strip())

        def walk(segments: Iterable[Segment]) -> None:
            for seg in segments:
                match seg:
                    case Text(text):
                        clean = text.translate(_SPECIAL_CHARS)
                        if clean != text:
                            warnings.append(f"{self.name}: literal brackets dropped from '{text}'")
                        if katakana and clean.strip():
                            reading = to_katakana(clean)
                            clean = reading.text
                            if reading.unread:
                                warnings.append(
                                    f"{self.name}: no katakana reading for {list(reading.unread)}; sent as written"
                                )
                        buf.append(clean)
                    case Pinyin(syllables):
                        for syllable in syllables:
                            rendering = cosyvoice_tokens.render(syllable)
                            buf.extend(f"[{t}]" for t in rendering.tokens)
                            if rendering.approximated:
                                spelled = "".join(f"[{t}]" for t in rendering.tokens)
                                warnings.append(
                                    f"{self.name}: pinyin '{syllable}' has no CosyVoice3 token as written; "
                                    f"read as {spelled}"
                                )
                    case Phonemes(phones):
                        buf.extend(f"[{p}]" for p in phones)
                    case Event(name):
                        buf.append(f"[{name}]")
                    case Span(kind, children):
                        buf.append(f"<{kind}>")
                        open_spans.append(kind)
                        walk(children)
                        open_spans.pop()
                        buf.append(f"</{kind}>")
                    case Break(seconds):
                        buf.extend(f"</{k}>" for k in reversed(open_spans))
                        flush()
                        if pieces and isinstance(pieces[-1], float):
                            pieces[-1] += seconds
                        else:
                            pieces.append(float(seconds))
                        buf.extend(f"<{k}>" for k in open_spans)

        walk(utterance.segments)
        flush()
        return pieces, warnings

    # ------------------------------------------------------------------------------------------------ synthesis

    def _speaker(self, request: SynthesisRequest) -> str:
        """The voice's cached speaker prompt (upstream ``add_zero_shot_spk``), extracted once per loaded model.

        The speech tokens, speaker embedding and prompt features of the reference clip are what every call would
        otherwise extract again; zero-shot and cross-lingual calls both read them from the cache (upstream's
        frontend copies the cached entry since 3b44913, so cross-lingual's deletions no longer reach it). The
        prompt text is normalized as ``inference_zero_shot`` would normalize it. The id changes with the clip or
        the transcript, so an edited voice never speaks with its old prompt."""
        voice = request.voice
        prompt_text = self._prompt_text((voice.reference_text or "").strip())
        fingerprint = hashlib.sha256(
            f"{file_digest(Path(voice.reference_wav or ''))}\0{prompt_text}".encode()
        ).hexdigest()
        speaker_id = f"{voice.id}@{fingerprint[:16]}"
        with self._speaker_lock:  # two threads with the same new voice: one extraction
            if speaker_id not in self._speakers:
                self._register(speaker_id, fingerprint, prompt_text, str(voice.reference_wav))
                self._speakers[speaker_id] = voice.id
        return speaker_id

    def _register(self, speaker_id: str, fingerprint: str, prompt_text: str, wav: str) -> None:
        digest = hashlib.sha256(f"{self._fingerprint()}\0{fingerprint}".encode()).hexdigest()
        if not self._load_prompt(digest, speaker_id):
            normalized = self._model.frontend.text_normalize(prompt_text, split=False, text_frontend=True)
            self._model.add_zero_shot_spk(normalized, wav, speaker_id)
            self.prompt_extractions += 1
            self._save_prompt(digest, speaker_id)

    def _load_prompt(self, digest: str, speaker_id: str) -> bool:
        """The prompt another worker extracted, if the store has it. Loaded with ``weights_only``: a staging
        object is data, never code."""
        if self.prompt_store is None:
            return False
        import io

        import torch

        try:
            data = self.prompt_store.get(digest)
            if data is None:
                return False
            device = getattr(self._model.frontend, "device", "cpu")
            entry = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
        except Exception as exc:  # unreadable store or object: extract again
            log.warning("%s: prompt %s not loaded from the store (%s); extracting it again", self.name, digest, exc)
            return False
        self._model.frontend.spk2info[speaker_id] = entry
        self.prompt_loads += 1
        return True

    def _save_prompt(self, digest: str, speaker_id: str) -> None:
        if self.prompt_store is None:
            return
        import io

        import torch

        buffer = io.BytesIO()
        try:
            torch.save(self._model.frontend.spk2info[speaker_id], buffer)
            self.prompt_store.put(digest, buffer.getvalue())
        except Exception as exc:  # the cache is an optimization: synthesis goes on without it
            log.warning("%s: prompt %s not saved to the store: %s", self.name, digest, exc)

    def _seed(self, seed: int) -> None:
        package = self.module.rsplit(".cli.", 1)[0] if ".cli." in self.module else self.module.split(".", 1)[0]
        try:
            set_all_random_seed = importlib.import_module(f"{package}.utils.common").set_all_random_seed
        except (ImportError, AttributeError):
            random.seed(seed)
            np.random.seed(seed)
            torch = sys.modules.get("torch")
            if torch is not None:
                torch.manual_seed(seed)
                if torch.cuda.is_available():
                    torch.cuda.manual_seed_all(seed)
            return
        set_all_random_seed(seed)

    def _generate(self, request: SynthesisRequest, plan: _Plan, text: str, text_frontend: bool) -> Any:
        voice, model, speed = request.voice, self._model, request.effective_speed
        wav = str(voice.reference_wav)
        if plan.mode == INSTRUCT:
            # The instruction already asks for the style's pace; only the time-fit factor is applied on top.
            speed = request.speed
            return model.inference_instruct2(
                tts_text=text,
                instruct_text=plan.instruct_text,
                prompt_wav=wav,
                zero_shot_spk_id="",
                stream=False,
                speed=speed,
                text_frontend=text_frontend,
            )
        if plan.mode == CROSS_LINGUAL:
            return model.inference_cross_lingual(
                tts_text=f"{SYSTEM_PROMPT}{ENDOFPROMPT}{text}" if self._v3 else text,
                prompt_wav=wav,
                zero_shot_spk_id=self._speaker(request),
                stream=False,
                speed=speed,
                text_frontend=text_frontend,
            )
        return model.inference_zero_shot(
            tts_text=text,
            prompt_text=self._prompt_text((voice.reference_text or "").strip()),
            prompt_wav=wav,
            zero_shot_spk_id=self._speaker(request),
            stream=False,
            speed=speed,
            text_frontend=text_frontend,
        )

    def _speak(self, request: SynthesisRequest, plan: _Plan, text: str, text_frontend: bool) -> np.ndarray:
        line = request.line_id or "?"
        try:
            chunks = [to_numpy(out["tts_speech"]) for out in self._generate(request, plan, text, text_frontend)]
        except EngineError:
            raise
        except Exception as exc:  # CUDA OOM, upstream asserts, tokenizer errors …
            raise EngineError(f"{self.name}: line {line} ({plan.mode}) failed: {type(exc).__name__}: {exc}") from exc
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        if audio.size == 0:
            raise BadAudioError(f"{self.name}: line {line} ({plan.mode}) produced no audio for '{text}'")
        if not np.isfinite(audio).all():
            raise BadAudioError(
                f"{self.name}: line {line}: NaN/inf in the output (fp16={self.fp16}; fp16 NaN output is a known "
                "CosyVoice problem, load with fp16=False)"
            )
        if float(np.max(np.abs(audio))) <= SILENT_PEAK:
            raise BadAudioError(
                f"{self.name}: line {line}: all-zero output (fp16={self.fp16}; silent fp16 output is a known "
                "CosyVoice problem, load with fp16=False)"
            )
        return audio

    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        plan = self.plan(request)
        pieces, warnings = self.render(request.utterance, katakana=self._reads_katakana(request))
        warnings = list(plan.warnings) + warnings
        duration, _ = self._reference_info(Path(request.voice.reference_wav or ""))
        if duration < MIN_REFERENCE_S:
            warnings.append(f"{self.name}: reference clip is {duration:.1f}s; cloning wants at least 3s")
        text_frontend = not (features(request.utterance) & {"pinyin", "phonemes"})
        if request.seed is not None:
            self._seed(request.seed)
        sample_rate = self.capabilities.sample_rate
        parts: list[np.ndarray] = []
        for piece in pieces:
            if isinstance(piece, float):
                parts.append(silence(piece, sample_rate))
            else:
                parts.append(self._speak(request, plan, piece, text_frontend))
        return np.concatenate(parts), warnings
