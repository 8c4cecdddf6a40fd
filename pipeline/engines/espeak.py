"""espeak-ng 1.52 (from the ``espeakng-loader`` wheel, not Debian's 1.51 whose ``cmn`` voice is broken) via ctypes.

The fallback for every language the neural voices lack, Cantonese (``yue``) included. Pinyin overrides are
spoken as tone-number syllables, which the ``cmn`` voice reads as pinyin. libespeak-ng keeps one global state
per process (voice, parameters, callback), so every call goes through one process-wide lock.
"""

from __future__ import annotations

import ctypes
import os
import threading
from ctypes import c_char_p, c_int, c_short, c_size_t, c_uint, c_void_p
from dataclasses import replace

import numpy as np

from pipeline.engines.base import (
    Capabilities,
    Engine,
    EngineError,
    SynthesisRequest,
    UnsupportedInputError,
    int16_to_float,
    silence,
)
from pipeline.engines.espeak_input import text_runs
from pipeline.text.style import DIALECTS

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_DONT_EXIT = 0x8000
POS_CHARACTER = 1
CHARS_UTF8 = 1
PHONEMES_INPUT = 0x100
RATE, VOLUME, PITCH = 1, 2, 3
DEFAULT_RATE_WPM = 175
DEFAULT_PITCH = 50

# dubflow language → espeak-ng voice name, where they differ.
VOICE_FOR_LANG = {"zh": "cmn", "en": "en-us", "yue": "yue", "zh-yue": "yue"}

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(c_short), c_int, c_void_p)
_global_lock = threading.Lock()


def voice_languages() -> frozenset[str]:
    """The languages espeak-ng has a voice for, read from its data folder without loading the library: full
    names (``en-us``, ``yue``), their primary subtags, and our names for the ones it calls differently (zh)."""
    try:
        import espeakng_loader
    except ImportError:
        return frozenset({"*"})  # not installed: load() says so; until then, do not refuse any language
    names: set[str] = set()
    for _, _, files in os.walk(os.path.join(espeakng_loader.get_data_path(), "lang")):
        names.update(f.lower() for f in files)
    names |= {n.split("-", 1)[0] for n in names}
    names |= {ours for ours, theirs in VOICE_FOR_LANG.items() if theirs in names}
    return frozenset(names)


class EspeakEngine(Engine):
    name = "espeak"

    def __init__(self) -> None:
        super().__init__()
        self.capabilities = Capabilities(
            languages=voice_languages(), markup=frozenset({"pinyin", "phonemes", "break"}), takes_vary=False
        )
        self._lib: ctypes.CDLL | None = None
        self._buffer: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # must outlive every synth call
        self._version = "espeak-ng"

    def _collect(self, wav: ctypes.Array, count: int, _events: int) -> int:
        if wav and count > 0:
            self._buffer.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def _load(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise EngineError("espeak: espeakng-loader is not installed (pip install 'dubflow[voices]')") from exc
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [c_int, c_int, c_char_p, c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [c_char_p]
        lib.espeak_SetParameter.argtypes = [c_int, c_int, c_int]
        lib.espeak_Synth.argtypes = [c_void_p, c_size_t, c_uint, c_int, c_uint, c_uint, c_void_p, c_void_p]
        lib.espeak_Info.restype = c_char_p
        lib.espeak_Info.argtypes = [c_void_p]
        with _global_lock:
            rate = lib.espeak_Initialize(
                AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), INITIALIZE_DONT_EXIT
            )
            if rate <= 0:
                raise EngineError(f"espeak: espeak_Initialize failed ({rate})")
            lib.espeak_SetSynthCallback(self._callback)
        self._lib = lib
        self._version = f"espeak-ng-{lib.espeak_Info(None).decode()}"
        self.capabilities = replace(self.capabilities, sample_rate=rate)

    def _fingerprint(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"espeak-ng/espeakng-loader-{version('espeakng-loader')}"
        except PackageNotFoundError:
            return "espeak-ng/unknown"

    @property
    def model_version(self) -> str:
        return self._version

    def voice_name(self, request: SynthesisRequest) -> str:
        if request.voice.engine_voice:
            return request.voice.engine_voice
        dialect = DIALECTS.get(request.style.dialect or "")
        if dialect is not None and dialect.espeak_voice:
            return dialect.espeak_voice
        return VOICE_FOR_LANG.get(request.lang, VOICE_FOR_LANG.get(request.lang.split("-", 1)[0], request.lang))

    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        assert self._lib is not None
        voice = self.voice_name(request)
        style = request.style
        rate_wpm = int(np.clip(DEFAULT_RATE_WPM * request.effective_speed, 80, 450))
        pitch = int(np.clip(DEFAULT_PITCH * style.pitch, 0, 100))
        warnings = []
        if style.dialect and not DIALECTS[style.dialect].espeak_voice:
            warnings.append(f"espeak has no {style.dialect} dialect voice; spoken in {voice}")
        if style.emotion or style.whisper:
            warnings.append("espeak renders speed and pitch only; emotion and whisper are not applied")
        pieces: list[np.ndarray] = []
        sample_rate = self.capabilities.sample_rate
        with _global_lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise UnsupportedInputError(f"espeak has no voice '{voice}' for language '{request.lang}'")
            self._lib.espeak_SetParameter(RATE, rate_wpm, 0)  # after SetVoiceByName, which resets them
            self._lib.espeak_SetParameter(PITCH, pitch, 0)
            self._lib.espeak_SetParameter(VOLUME, int(np.clip(100 * style.energy, 10, 200)), 0)
            for kind, text in text_runs(request.utterance, pinyin=True):
                if kind == "pause":
                    pieces.append(silence(float(text), sample_rate))
                    continue
                self._buffer = []
                data = str(text).encode("utf-8") + b"\0"
                flags = CHARS_UTF8 | PHONEMES_INPUT
                self._lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, flags, None, None)
                pieces.extend(int16_to_float(b) for b in self._buffer)
        if not pieces:
            return np.zeros(0, np.float32), warnings
        return np.concatenate(pieces), warnings
