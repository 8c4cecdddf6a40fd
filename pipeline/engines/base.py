"""The one interface every speech engine implements, and the request/result types that cross it.

An engine is loaded once per process (``load()`` is explicit, never hidden in the first call) and then serves
many requests. Requests carry the parsed utterance, not a string, so each engine renders markup its own way and
reports what it had to drop instead of reading tags aloud.
"""

from __future__ import annotations

import abc
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from pipeline.text.markup import Utterance, features
from pipeline.text.style import Style


class EngineError(RuntimeError):
    """An engine could not produce audio (load failure, model error)."""


class BadAudioError(EngineError):
    """The engine ran but its audio is unusable (empty, NaN/Inf, silent): another seed may fix it."""


class UnsupportedInputError(EngineError):
    """The request asks for something this engine cannot do (language, cloning, …): try another engine."""


class EngineNotLoadedError(EngineError):
    pass


@dataclass(frozen=True, slots=True)
class Capabilities:
    languages: frozenset[str]  # primary language subtags (en, zh, yue …); "*" for any espeak-ng knows
    cloning: bool = False
    instruct: bool = False
    markup: frozenset[str] = frozenset()  # features from pipeline.text.markup.features() that are honoured
    sample_rate: int = 22050
    needs_gpu: bool = False
    thread_safe: bool = False  # may one loaded instance serve concurrent synthesize() calls?
    takes_vary: bool = True  # does another take (seed) give other audio? espeak-ng has no randomness at all

    def speaks(self, language: str) -> bool:
        primary = language.split("-", 1)[0]
        return "*" in self.languages or primary in self.languages or language in self.languages


@dataclass(frozen=True, slots=True)
class VoiceRef:
    """What an engine needs to know about the voice: its engine-specific name, and a reference for cloning."""

    id: str
    engine_voice: str | None = None  # e.g. a Piper model name, an espeak voice, a CosyVoice spk id
    reference_wav: str | None = None  # local path (already fetched) of the 3-30 s reference clip
    reference_text: str | None = None  # its transcript
    reference_lang: str | None = None
    speaker_id: int | None = None


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    utterance: Utterance
    lang: str
    voice: VoiceRef
    style: Style = field(default_factory=Style)
    speed: float = 1.0  # on top of the style's speed; time-fit asks for this
    seed: int | None = None  # deterministic output where the engine can give it
    line_id: str | None = None  # for messages only
    # A reviewer's retake number (0 = the original take). Seeded engines get another seed per take already; an
    # engine that gives up variation for determinism (Piper) samples again for take > 0. espeak-ng has no
    # randomness at all: a retake of an espeak line is the same audio.
    take: int = 0

    @property
    def effective_speed(self) -> float:
        return self.speed * self.style.speed


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    engine: str
    model_version: str
    load_seconds: float
    synth_seconds: float
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def rtf(self) -> float:
        return self.synth_seconds / self.duration if self.duration else float("inf")


_LOCK_CREATION = threading.Lock()


class Engine(abc.ABC):
    name: ClassVar[str]
    capabilities: Capabilities

    def __init__(self) -> None:
        self._loaded = False
        self.load_seconds = 0.0

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Load the model; idempotent. Raises ``EngineError`` with the reason when the model cannot be loaded."""
        if self._loaded:
            return
        start = time.perf_counter()
        self._load()
        self.load_seconds = time.perf_counter() - start
        self._loaded = True

    @abc.abstractmethod
    def _load(self) -> None: ...

    @property
    @abc.abstractmethod
    def model_version(self) -> str: ...

    # Bump when this adapter changes what it sends to the model (text frontend, parameters): cached audio made by
    # the previous revision is then no longer reused.
    revision: ClassVar[int] = 1

    @abc.abstractmethod
    def _fingerprint(self) -> str: ...

    def fingerprint(self) -> str:
        """What identifies this engine's output, computed without loading it: the synthesis cache key uses it."""
        return f"{self._fingerprint()}#r{self.revision}"

    def check(self, request: SynthesisRequest) -> None:
        """Raise ``UnsupportedInputError`` if this engine cannot speak the request at all."""
        if not self.capabilities.speaks(request.lang):
            raise UnsupportedInputError(f"{self.name} does not speak '{request.lang}'")

    def dropped_markup(self, request: SynthesisRequest) -> list[str]:
        """Warnings for the markup features this engine will not honour."""
        lost = sorted(features(request.utterance) - self.capabilities.markup)
        return [f"{self.name} ignores {feature}" for feature in lost]

    def synthesize(self, request: SynthesisRequest) -> SynthesisResult:
        if not self._loaded:
            raise EngineNotLoadedError(f"{self.name}: call load() before synthesize()")
        # An engine that is not thread-safe speaks one line at a time however many threads its worker has (GPU
        # workers run several lines at once where the GPU engine allows it: dask.cuda.lines_per_gpu).
        with nullcontext() if self.capabilities.thread_safe else self._serial():
            self.check(request)
            start = time.perf_counter()
            samples, warnings = self._synthesize(request)
            elapsed = time.perf_counter() - start
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            raise BadAudioError(f"{self.name} returned no audio for line {request.line_id or '?'}")
        return SynthesisResult(
            samples=samples,
            sample_rate=self.capabilities.sample_rate,
            engine=self.name,
            model_version=self.model_version,
            load_seconds=self.load_seconds,
            synth_seconds=elapsed,
            warnings=tuple(self.dropped_markup(request) + warnings),
        )

    def _serial(self) -> threading.Lock:
        lock = self.__dict__.get("_serial_lock")
        if lock is None:
            with _LOCK_CREATION:
                lock = self.__dict__.setdefault("_serial_lock", threading.Lock())
        return lock

    @abc.abstractmethod
    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        """Samples (any float/int16 dtype, mono) and warnings."""


def silence(seconds: float, sample_rate: int) -> np.ndarray:
    return np.zeros(round(seconds * sample_rate), dtype=np.float32)


def int16_to_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32768.0
