"""Helpers for the audio and QA tests: profiles, synthetic signals, WAV files (real speech is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.audio.profiles import Profile, resolve_profile
from tests.conftest import REPO


def profile(name: str = "broadcast", **overrides: object) -> Profile:
    return resolve_profile(REPO / "configs" / "profiles.yaml", name, overrides or None)


def sine(freq: float, amplitude: float, seconds: float, rate: int = 48000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float64)


def write(tmp: Path, name: str, x: np.ndarray, rate: int) -> Path:
    import soundfile as sf

    path = tmp / name
    sf.write(path, x, rate, subtype="FLOAT")
    return path
