"""Is a recording fit to be a voice's reference clip? A cloning engine copies whatever it is given — room noise,
clipping, a second person — into every line it speaks, and speaker-similarity QA compares every line with it, so
the clip is checked before a voice is enrolled: sample rate, length, level, noise, clipping, one speaker.

Each check is a :class:`~pipeline.qa.results.Check` (value, band, verdict), like a line's QA; ``fail`` refuses the
clip, ``warn`` enrolls it and says why it may disappoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.audio.edit import frame_db, speech_bounds
from pipeline.audio.loudness import integrated_loudness
from pipeline.qa.results import Check

MIN_RATE = 16000  # CosyVoice extracts its speech tokens and speaker embedding at 16 kHz: less cannot be upsampled
# Seconds of speech: CosyVoice's frontend refuses prompts over 30 s (ours add 0.4 s of pads); "3-second cloning"
# wants 3 s, and upstream's own example prompt has 2.9 s of speech in a 3.5 s file, so 2.5-3 s warns.
MIN_S, SHORT_S, MAX_S = 2.5, 3.0, 29.5
FULL_SCALE = 0.999  # a sample this close to ±1 is clipped (or about to be)


@dataclass(frozen=True)
class Bands:
    """Where each measure passes, warns and fails. The noise and speaker bands were set on real recordings and
    on our own voices (see docs/voices.md, "Enrolling a voice")."""

    quiet_warn_lufs: float = -35.0  # speech this quiet has been recorded too far from the microphone
    quiet_fail_lufs: float = -45.0
    snr_warn_db: float = 25.0  # speech level over the noise floor (the quiet frames between words)
    snr_fail_db: float = 15.0
    clipped_warn: float = 0.0001  # share of samples at full scale
    clipped_fail: float = 0.001
    # The least similar two 2-second stretches of the clip (Resemblyzer cosine). Measured: one speaker 0.68-0.88
    # (a human recording, nine of our voices); two speakers joined 0.33-0.52, two women among them 0.52.
    speaker_warn: float = 0.65
    speaker_fail: float = 0.55


BANDS = Bands()


def check_clip(x: np.ndarray, rate: int, bands: Bands = BANDS, speaker: bool = True) -> list[Check]:
    """Every check of a mono clip as recorded (before trimming: its pauses are where the noise floor is heard).
    ``speaker=False`` leaves the one-speaker check out (it loads the speaker encoder) and says so."""
    checks = [sample_rate(rate), duration(x, rate), level(x, rate, bands), noise(x, rate, bands), clipping(x, bands)]
    checks.append(one_speaker(x, rate, bands) if speaker else Check("one_speaker", "not-checked", detail="not asked"))
    return checks


def sample_rate(rate: int) -> Check:
    verdict = "pass" if rate >= MIN_RATE else "fail"
    return Check("sample_rate", verdict, float(rate), "Hz", f"≥ {MIN_RATE}", "" if verdict == "pass" else "too low")


def duration(x: np.ndarray, rate: int) -> Check:
    """Length of the speech in the clip (leading and trailing silence does not count)."""
    seconds = speech_seconds(x, rate)
    verdict = "fail" if not MIN_S <= seconds <= MAX_S else "warn" if seconds < SHORT_S else "pass"
    why = {"pass": "", "warn": "under 3 s of speech: the clone may be unstable"}.get(verdict)
    why = why if why is not None else "too short to clone from" if seconds < MIN_S else "longer than CosyVoice accepts"
    band = f"{SHORT_S:g}–{MAX_S:g} s of speech, fail < {MIN_S:g}"
    return Check("duration", verdict, round(seconds, 2), "s", band, why)


def speech_seconds(x: np.ndarray, rate: int) -> float:
    bounds = _speech(x, rate)
    return 0.0 if bounds is None else (bounds[1] - bounds[0]) / rate


def _speech(x: np.ndarray, rate: int) -> tuple[int, int] | None:
    """First and last sample of sound within 50 dB of the loudest 10 ms (the same rule ``enroll.prepare`` trims by)."""
    levels = frame_db(x, rate)
    return None if levels.size == 0 else speech_bounds(x, rate, max(float(levels.max()) - 50.0, -70.0))


def level(x: np.ndarray, rate: int, bands: Bands = BANDS) -> Check:
    lufs = integrated_loudness(x, rate)
    if lufs is None:
        return Check("level", "fail", None, "LUFS", f"≥ {bands.quiet_fail_lufs:g} LUFS", "no speech above the gate")
    verdict = "pass" if lufs >= bands.quiet_warn_lufs else "warn" if lufs >= bands.quiet_fail_lufs else "fail"
    why = "" if verdict == "pass" else "quiet: record closer to the microphone"
    band = f"≥ {bands.quiet_warn_lufs:g} LUFS, fail < {bands.quiet_fail_lufs:g}"
    return Check("level", verdict, round(lufs, 1), "LUFS", band, why)


def signal_to_noise(x: np.ndarray, rate: int) -> float:
    """Speech level (the loud frames' 95th percentile) over the noise floor (the quiet frames' 10th percentile) in
    dB, on 10 ms frames between the first and last sound: silence padded around a take cannot hide the hiss between
    its words. Digital silence is floored at -100 dBFS, so a clean synthetic clip reads high, not infinite."""
    bounds = _speech(x, rate)
    if bounds is None:
        return 0.0
    levels = np.maximum(frame_db(x[bounds[0] : bounds[1]], rate), -100.0)
    if levels.size == 0:
        return 0.0
    return float(np.percentile(levels, 95) - np.percentile(levels, 10))


def noise(x: np.ndarray, rate: int, bands: Bands = BANDS) -> Check:
    snr = signal_to_noise(x, rate)
    verdict = "pass" if snr >= bands.snr_warn_db else "warn" if snr >= bands.snr_fail_db else "fail"
    why = "" if verdict == "pass" else "noisy: the room or hiss between words is loud next to the speech"
    band = f"≥ {bands.snr_warn_db:g} dB, fail < {bands.snr_fail_db:g}"
    return Check("noise", verdict, round(snr, 1), "dB SNR", band, why)


def clipping(x: np.ndarray, bands: Bands = BANDS) -> Check:
    share = float(np.mean(np.abs(x) >= FULL_SCALE)) if x.size else 0.0
    verdict = "pass" if share <= bands.clipped_warn else "warn" if share <= bands.clipped_fail else "fail"
    why = "" if verdict == "pass" else "samples at full scale: record at a lower gain"
    band = f"≤ {bands.clipped_warn:.2%}, fail > {bands.clipped_fail:.2%}"
    return Check("clipping", verdict, round(100 * share, 4), "%", band, why)


def one_speaker(x: np.ndarray, rate: int, bands: Bands = BANDS) -> Check:
    """The clip cut into stretches of about 2 s of speech, each embedded (Resemblyzer): the least similar pair of
    stretches. One person stays high throughout; any stretch of a second voice is far from the first one's."""
    try:
        from resemblyzer import preprocess_wav

        from pipeline.qa.models import speaker_encoder

        encoder = speaker_encoder()
    except Exception as exc:  # the encoder's package or weights are missing: say so, never pass
        return Check("one_speaker", "not-checked", detail=f"speaker encoder unavailable: {exc}")
    wav = preprocess_wav(x.astype(np.float32), source_sr=rate)  # 16 kHz, loudness-normalized, long pauses removed
    pieces = _stretches(wav, 16000)
    if len(pieces) < 2:
        return Check("one_speaker", "not-checked", detail="too little speech to compare two stretches")
    embeddings = np.stack([encoder.embed_utterance(piece) for piece in pieces])
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True) + 1e-12
    least = float((embeddings @ embeddings.T)[np.triu_indices(len(embeddings), 1)].min())
    verdict = "pass" if least >= bands.speaker_warn else "warn" if least >= bands.speaker_fail else "fail"
    why = "" if verdict == "pass" else "two stretches sound like different people: the clip must be one speaker alone"
    band = f"≥ {bands.speaker_warn:g}, fail < {bands.speaker_fail:g}"
    return Check("one_speaker", verdict, round(least, 3), "cosine", band, why)


def _stretches(wav: np.ndarray, rate: int, seconds: float = 2.0) -> list[np.ndarray]:
    """Consecutive pieces of about ``seconds`` (the last one joins its neighbour when shorter than half)."""
    size = int(seconds * rate)
    count = max(1, round(len(wav) / size))
    return [piece for piece in np.array_split(wav, count) if len(piece) >= size // 2]
