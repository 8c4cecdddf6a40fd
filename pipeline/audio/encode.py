"""Delivery encodings: WAV/FLAC through libsndfile (soundfile), CBR MP3 through LAME (lameenc)."""

from __future__ import annotations

import io

import lameenc
import numpy as np
import soundfile as sf

from pipeline.audio.profiles import Encoding


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """32-bit float WAV: a raw or processed clip in staging keeps full precision for what comes after it."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """A staged clip as float32 samples (mono (n,), as it was written) and its rate."""
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    return samples, rate


def encode(x: np.ndarray, rate: int, encoding: Encoding) -> bytes:
    """``x`` is float in [-1, 1], mono (n,) or multi-channel (n, ch)."""
    if encoding.format == "mp3":
        channels = 1 if x.ndim == 1 else x.shape[1]
        pcm = (np.clip(x, -1.0, 1.0) * 32767).round().astype("<i2")
        encoder = lameenc.Encoder()
        encoder.set_bit_rate(encoding.mp3_kbps)  # constant bit rate: ACX requires CBR
        encoder.set_in_sample_rate(rate)
        encoder.set_channels(channels)
        encoder.set_quality(2)
        return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())
    buffer = io.BytesIO()
    sf.write(buffer, x, rate, format=encoding.format.upper(), subtype=encoding.subtype)
    return buffer.getvalue()
