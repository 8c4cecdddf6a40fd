"""Pinyin syllables for pronunciation overrides: validation and conversion between the written forms.

The canonical form is tone-number pinyin with ``v`` for ü and ``5`` for the neutral tone (``hao4``, ``lv4``,
``ma5``): it is what pypinyin produces, what espeak-ng's ``cmn`` voice reads, and what the Mandarin frontend maps
to symbols. CosyVoice's rendering (``[h][ào]``, only tokens its vocabulary has) is
``pipeline/engines/cosyvoice_tokens.py``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin.contrib.tone_convert import to_tone, to_tone3

# Initials as written in CosyVoice's split form; y and w are written as initials there too.
INITIALS = frozenset("b p m f d t n l g k h j q x zh ch sh r z c s y w".split())

_TONE3 = re.compile(r"^([a-zvê]+?)([1-5])?$")


class PinyinError(ValueError):
    """A bracketed token that is not a Mandarin syllable."""


@lru_cache(maxsize=1)
def _valid_bases() -> frozenset[str]:
    """Every toneless syllable pypinyin knows, from its character dictionary (built once, ~40k entries)."""
    from pypinyin.pinyin_dict import pinyin_dict

    bases: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            tone3 = to_tone3(reading, neutral_tone_with_five=True)
            bases.add(tone3.rstrip("12345"))
    return frozenset(bases)


def to_canonical(token: str) -> str:
    """``hào`` / ``hao4`` / ``lü4`` / ``ma`` → ``hao4`` / ``hao4`` / ``lv4`` / ``ma5``; raises on non-syllables."""
    raw = token.strip().lower().replace("ü", "v").replace("u:", "v")
    if not raw:
        raise PinyinError("empty pinyin syllable")
    tone3 = to_tone3(raw, neutral_tone_with_five=True)
    match = _TONE3.match(tone3)
    if match is None:
        raise PinyinError(f"'{token}' is not pinyin")
    base, tone = match.group(1), match.group(2) or "5"
    if base not in _valid_bases():
        raise PinyinError(f"'{token}' is not a Mandarin syllable")
    return f"{base}{tone}"


def is_initial(token: str) -> bool:
    return token in INITIALS


def to_tone_marks(syllable: str) -> str:
    """``hao4`` → ``hào`` (neutral tone unmarked)."""
    return to_tone(syllable.replace("v", "ü"))
