"""ARPAbet phonemes (CMUdict set) as CosyVoice3 takes them for English pronunciation overrides: ``[K][L][IY1][R]``."""

from __future__ import annotations

import re

VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
CONSONANTS = frozenset("B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH".split())

_TOKEN = re.compile(r"^([A-Z]{1,2})([012])?$")


class ArpabetError(ValueError):
    """A bracketed uppercase token that is not an ARPAbet phoneme."""


def looks_like_arpabet(token: str) -> bool:
    """Uppercase tokens are meant as phonemes; anything else (pinyin, tags) is not."""
    return token.isupper()


def validate(token: str) -> str:
    match = _TOKEN.match(token)
    if match is None:
        raise ArpabetError(f"'{token}' is not an ARPAbet phoneme")
    base, stress = match.groups()
    if base in VOWELS:
        return token
    if base in CONSONANTS:
        if stress is not None:
            raise ArpabetError(f"'{token}': consonant {base} takes no stress digit")
        return token
    raise ArpabetError(f"'{token}' is not an ARPAbet phoneme")
