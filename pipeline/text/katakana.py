"""Japanese text as katakana pronunciation, word by word: what CosyVoice3 reads Japanese from.

Upstream's ``example.py`` says Japanese must be given to CosyVoice3 in katakana and shows the form: each word's
pronunciation, words separated by spaces, punctuation kept (``カコ ワ タンニ スギサッ タ``). Kanji sent as they are
would also be caught by upstream's frontend as Chinese and normalized as Mandarin. The pronunciation comes from
MeCab with the UniDic dictionary (fugashi + unidic-lite, both offline wheels): the ``pron`` field reads particles
as spoken (は → ワ) and long vowels as ー. Words the dictionary has no reading for (Latin words, digits left by the
normalizer) are kept as written and reported.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True, slots=True)
class Reading:
    text: str
    unread: tuple[str, ...]  # words kept as written: no reading in the dictionary


@lru_cache(maxsize=1)
def _tagger() -> Any:
    import fugashi  # imported here: ~250 MB of dictionary, loaded only by engines that read Japanese

    return fugashi.Tagger()


def _is_punctuation(word: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PZS" for ch in word)


def to_katakana(text: str) -> Reading:
    out: list[str] = []
    unread: list[str] = []
    after_word = False
    for node in _tagger()(text):
        surface = node.surface
        if _is_punctuation(surface):
            out.append(surface)
            after_word = False
            continue
        pron = getattr(node.feature, "pron", None)
        if not pron or pron == "*":
            pron = surface
            unread.append(surface)
        out.append(f" {pron}" if after_word else pron)
        after_word = True
    return Reading("".join(out), tuple(unread))
