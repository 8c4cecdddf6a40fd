"""Engines are loaded once per test session, as a worker loads them once per process."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.engines.base import SynthesisRequest, SynthesisResult, VoiceRef
from pipeline.text.markup import parse
from pipeline.text.normalize import normalize
from pipeline.text.style import parse_style


def request(text: str, lang: str, *, style: str = "", speed: float = 1.0, seed: int | None = None,
            voice: VoiceRef | None = None) -> SynthesisRequest:  # fmt: skip
    return SynthesisRequest(
        utterance=normalize(parse(text), lang),
        lang=lang,
        voice=voice or VoiceRef("test-voice"),
        style=parse_style(style),
        speed=speed,
        seed=seed,
        line_id="t-1",
    )


def assert_speech(result: SynthesisResult, min_s: float, max_s: float) -> None:
    """Real speech: finite, not silent, not clipped flat, and a duration a speaker could produce."""
    samples = result.samples
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert np.isfinite(samples).all()
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 0.01, f"near-silent output (rms {rms:.4f})"
    assert float(np.abs(samples).max()) <= 1.0
    assert min_s <= result.duration <= max_s, f"{result.duration:.2f}s not in [{min_s}, {max_s}]"


@pytest.fixture(scope="session")
def piper_engine():
    from pipeline.engines.piper import PiperEngine

    engine = PiperEngine()
    engine.load()
    return engine


@pytest.fixture(scope="session")
def espeak_engine():
    from pipeline.engines.espeak import EspeakEngine

    engine = EspeakEngine()
    engine.load()
    return engine
