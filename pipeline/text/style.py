"""Natural-language style instructions ("用兴奋的语气说", "slowly and sadly") → a structured style.

Engines with instruct support (CosyVoice3) get the instruction verbatim; the CPU voices only understand speed,
pitch and energy ratios, so the cues are mapped onto those. Matching is longest-keyword-first and each match
consumes its span, so "快乐" (happy) is never read as "快" (fast).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

SPEED_RANGE = (0.5, 2.0)
RATIO_RANGE = (0.5, 2.0)


@dataclass(frozen=True, slots=True)
class Dialect:
    id: str  # also its English keyword
    name_zh: str  # as CosyVoice3's instruct prompt says it: 请用{name_zh}表达。
    espeak_voice: str | None = None  # the CPU fallback that can actually speak it, if any
    aliases: tuple[str, ...] = ()

    @property
    def keywords(self) -> tuple[str, ...]:
        """四川话, 四川, sichuan, and any aliases."""
        return (self.name_zh, self.name_zh.removesuffix("话"), self.id, *self.aliases)


DIALECTS: dict[str, Dialect] = {
    d.id: d
    for d in (
        Dialect("cantonese", "广东话", "yue", aliases=("粤语", "白话")),
        Dialect("northeastern", "东北话"),
        Dialect("gansu", "甘肃话"),
        Dialect("guizhou", "贵州话"),
        Dialect("henan", "河南话"),
        Dialect("hubei", "湖北话", aliases=("wuhan",)),
        Dialect("hunan", "湖南话"),
        Dialect("jiangxi", "江西话"),
        Dialect("minnan", "闽南话", aliases=("闽南语", "hokkien")),
        Dialect("ningxia", "宁夏话"),
        Dialect("shanxi", "山西话"),
        Dialect("shaanxi", "陕西话"),
        Dialect("shandong", "山东话"),
        Dialect("shanghai", "上海话", aliases=("shanghainese",)),
        Dialect("sichuan", "四川话", aliases=("sichuanese",)),
        Dialect("tianjin", "天津话"),
        Dialect("yunnan", "云南话"),
    )
}


@dataclass(frozen=True, slots=True)
class Cue:
    """What one keyword does. Ratios multiply; emotion/whisper set."""

    name: str
    speed: float = 1.0
    pitch: float = 1.0
    energy: float = 1.0
    emotion: str | None = None
    whisper: bool = False
    group: str = ""  # cues of one group with opposite directions conflict


_CUES: tuple[tuple[Cue, tuple[str, ...]], ...] = (
    (
        Cue("slow", speed=0.85, group="speed"),
        ("slowly", "slow", "unhurried", "leisurely", "缓慢", "慢慢", "放慢", "慢速", "慢"),
    ),
    (
        Cue("fast", speed=1.2, group="speed"),
        ("quickly", "rapidly", "fast", "quick", "hurried", "加快", "快速", "语速快", "快"),
    ),
    (Cue("loud", energy=1.3, group="energy"), ("loudly", "loud", "shouting", "shout", "yelling", "大声", "响亮", "喊")),
    (
        Cue("soft", energy=0.75, group="energy"),
        ("softly", "soft", "quietly", "quiet", "gently", "gentle", "轻声", "小声", "温柔", "柔和"),
    ),
    (
        Cue("excited", speed=1.1, pitch=1.1, energy=1.2, emotion="excited"),
        ("excitedly", "excited", "enthusiastic", "兴奋", "激动"),
    ),
    (
        Cue("happy", speed=1.05, pitch=1.05, energy=1.1, emotion="happy"),
        ("happily", "happy", "cheerfully", "cheerful", "joyful", "开心", "高兴", "快乐", "愉快", "欢快"),
    ),
    (
        Cue("sad", speed=0.9, pitch=0.95, energy=0.85, emotion="sad"),
        ("sadly", "sad", "sorrowful", "melancholy", "悲伤", "难过", "伤心", "忧伤"),
    ),
    (
        Cue("angry", speed=1.05, pitch=1.05, energy=1.25, emotion="angry"),
        ("angrily", "angry", "furious", "生气", "愤怒", "恼火"),
    ),
    (Cue("calm", speed=0.95, emotion="calm"), ("calmly", "calm", "平静", "冷静")),
    (
        Cue("whisper", speed=0.95, energy=0.5, whisper=True),
        ("whispering", "whispered", "whisper", "耳语", "悄悄", "低语"),
    ),
    (Cue("high", pitch=1.15, group="pitch"), ("high-pitched", "high pitch", "higher", "高音", "尖声")),
    (Cue("low", pitch=0.9, group="pitch"), ("low-pitched", "low pitch", "deep voice", "deep", "低沉")),
)
_INTENSIFIERS = ("very", "really", "extremely", "super", "非常", "特别", "十分", "极其", "很")
EXPLICIT_SPEED = re.compile(r"(?:speed|rate|语速)\s*[=:：]?\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*(?:x|×|倍速?)(?![a-z])")


@dataclass(frozen=True, slots=True)
class Style:
    instruction: str = ""
    speed: float = 1.0
    pitch: float = 1.0
    energy: float = 1.0
    emotion: str | None = None
    dialect: str | None = None
    whisper: bool = False
    cues: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_neutral(self) -> bool:
        return self.speed == self.pitch == self.energy == 1.0 and not (self.emotion or self.dialect or self.whisper)

    @property
    def dialect_instruction(self) -> str | None:
        """CosyVoice3's own wording for a dialect request."""
        return f"请用{DIALECTS[self.dialect].name_zh}表达。" if self.dialect else None


def _keywords() -> list[tuple[str, object]]:
    table: list[tuple[str, object]] = [(w, cue) for cue, words in _CUES for w in words]
    table += [(w, d) for d in DIALECTS.values() for w in d.keywords]
    return sorted(table, key=lambda kv: -len(kv[0]))


_KEYWORDS = _keywords()


def _find(text: str, word: str, taken: list[bool]) -> int:
    """Index of a free occurrence of ``word`` (whole words for Latin script), or -1."""
    start = 0
    while (i := text.find(word, start)) >= 0:
        j = i + len(word)
        latin = word.isascii()
        bounded = not latin or ((i == 0 or not text[i - 1].isalpha()) and (j == len(text) or not text[j].isalpha()))
        if bounded and not any(taken[i:j]):
            return i
        start = i + 1
    return -1


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return round(min(max(value, bounds[0]), bounds[1]), 3)


def parse_style(instruction: str | None) -> Style:
    text = (instruction or "").strip()
    if not text:
        return Style()
    low = text.lower()
    taken = [False] * len(low)
    cues: list[Cue] = []
    dialect: str | None = None
    warnings: list[str] = []
    for word, what in _KEYWORDS:
        while (i := _find(low, word, taken)) >= 0:
            taken[i : i + len(word)] = [True] * len(word)
            if isinstance(what, Dialect):
                if dialect and dialect != what.id:
                    warnings.append(f"several dialects named; using {dialect}")
                dialect = dialect or what.id
            elif what not in cues:
                cues.append(what)
    boost = 1.5 if any(_find(low, w, [False] * len(low)) >= 0 for w in _INTENSIFIERS) else 1.0
    style = Style(instruction=text, dialect=dialect, cues=tuple(c.name for c in cues))
    speed = pitch = energy = 1.0
    for cue in cues:
        speed *= 1 + (cue.speed - 1) * boost
        pitch *= 1 + (cue.pitch - 1) * boost
        energy *= 1 + (cue.energy - 1) * boost
        if cue.emotion:
            if style.emotion and style.emotion != cue.emotion:
                warnings.append(f"emotions '{style.emotion}' and '{cue.emotion}' both named; using '{style.emotion}'")
            else:
                style = replace(style, emotion=cue.emotion)
        if cue.whisper:
            style = replace(style, whisper=True)
    groups: dict[str, set[str]] = {}
    for cue in cues:
        if cue.group:
            groups.setdefault(cue.group, set()).add(cue.name)
    warnings += [f"contradictory cues {sorted(names)}" for names in groups.values() if len(names) > 1]
    if match := EXPLICIT_SPEED.search(low):
        speed = float(match.group(1) or match.group(2))
        style = replace(style, cues=(*style.cues, f"speed={speed:g}"))
        if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
            warnings.append(f"speed {speed:g} clamped to {SPEED_RANGE}")
    if not style.cues and not dialect:
        warnings.append("no speed, pitch, energy, emotion or dialect cue recognised: CPU voices speak it neutrally")
    return replace(
        style,
        speed=_clamp(speed, SPEED_RANGE),
        pitch=_clamp(pitch, RATIO_RANGE),
        energy=_clamp(energy, RATIO_RANGE),
        warnings=tuple(warnings),
    )
