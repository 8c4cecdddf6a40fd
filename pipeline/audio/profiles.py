"""Delivery profiles (``configs/profiles.yaml``): every number post-processing and QA use, by delivery kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Loudness(_Strict):
    measure: Literal["lufs", "rms"] = "lufs"  # rms: ACX-style RMS level instead of gated integrated loudness
    target: float = -23.0
    tolerance: PositiveFloat = 1.0
    true_peak: float = Field(-1.0, le=0.0)  # dBTP ceiling (dB sample peak for rms profiles, measured oversampled)


class Encoding(_Strict):
    format: Literal["wav", "flac", "mp3"] = "wav"
    subtype: Literal["PCM_16", "PCM_24"] = "PCM_24"
    mp3_kbps: PositiveInt = 192


class Trim(_Strict):
    threshold_db: float = -50.0  # below this (dBFS, 10 ms RMS) is silence
    pad_ms: int = Field(80, ge=0)  # silence kept at head and tail
    fade_ms: int = Field(10, ge=0)


class TimeFit(_Strict):
    max_stretch: float = Field(1.25, ge=1.0, le=2.0)  # speed-up beyond this is overflow (never truncation)
    borrow_share: float = Field(0.5, ge=0.0, le=1.0)  # of the gap before the next cue
    max_pause_ms: int = Field(150, ge=20)  # internal pauses are shortened to this first
    placement: Literal["start", "center"] = "start"  # a shorter clip in its slot


class RoomTone(_Strict):
    head_s: float = Field(0.0, ge=0)
    tail_s: float = Field(0.0, ge=0)
    level_db: float = -70.0


class QaThresholds(_Strict):
    max_lead_silence_ms: int = 300
    max_trail_silence_ms: int = 300
    max_internal_pause_ms: int = 1500
    duration_tolerance_ms: int = 40
    warn_stretch: float = 1.15
    speech_rate: dict[str, tuple[float, float]] = Field(default_factory=lambda: {"*": (1.0, 9.0)})
    min_similarity: float = 0.75
    warn_similarity: float = 0.85
    # Intelligibility: (warn above, fail above) of the ASR error rate by language (bench/asr_calibration.py).
    asr_error: dict[str, tuple[float, float]] = Field(default_factory=lambda: {"*": (0.15, 0.35)})
    noise_floor_db: float | None = None

    def rate_band(self, lang: str) -> tuple[float, float]:
        return _by_lang(self.speech_rate, lang)

    def asr_band(self, lang: str) -> tuple[float, float]:
        return _by_lang(self.asr_error, lang)


def _by_lang(table: dict[str, tuple[float, float]], lang: str) -> tuple[float, float]:
    return table.get(lang) or table.get(lang.split("-", 1)[0]) or table["*"]


class Profile(_Strict):
    name: str
    loudness: Loudness = Field(default_factory=Loudness)
    sample_rate: PositiveInt = 48000
    channels: Literal[1, 2] = 1
    encoding: Encoding = Field(default_factory=Encoding)
    trim: Trim = Field(default_factory=Trim)
    timefit: TimeFit = Field(default_factory=TimeFit)
    room_tone: RoomTone = Field(default_factory=RoomTone)
    qa: QaThresholds = Field(default_factory=QaThresholds)


class ProfileError(ValueError):
    pass


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def load_profiles(path: Path) -> dict[str, Profile]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    defaults = data.get("defaults") or {}
    profiles = {}
    for name, values in (data.get("profiles") or {}).items():
        try:
            profiles[name] = Profile(name=name, **deep_merge(defaults, values or {}))
        except ValidationError as exc:
            raise ProfileError(f"{path}: profile '{name}': {exc}") from exc
    if not profiles:
        raise ProfileError(f"{path}: no profiles defined")
    return profiles


def resolve_profile(path: Path, name: str, overrides: dict[str, Any] | None = None) -> Profile:
    """The named profile with a project's overrides deep-merged on top."""
    profiles = load_profiles(path)
    if name not in profiles:
        raise ProfileError(f"unknown delivery profile '{name}' (have: {', '.join(sorted(profiles))})")
    if not overrides:
        return profiles[name]
    try:
        return Profile(**deep_merge(profiles[name].model_dump(), {**overrides, "name": name}))
    except ValidationError as exc:
        raise ProfileError(f"audio.overrides for profile '{name}': {exc}") from exc
