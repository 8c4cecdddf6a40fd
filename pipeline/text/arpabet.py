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


# espeak-ng en-us IPA, which is what Piper's English voices were trained on.
_IPA = {
    "AA": "ɑː", "AE": "æ", "AH": "ʌ", "AO": "ɔː", "AW": "aʊ", "AY": "aɪ", "EH": "ɛ", "ER": "ɚ", "EY": "eɪ",
    "IH": "ɪ", "IY": "iː", "OW": "oʊ", "OY": "ɔɪ", "UH": "ʊ", "UW": "uː",
    "B": "b", "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "ɡ", "HH": "h", "JH": "dʒ", "K": "k", "L": "l",
    "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "V": "v",
    "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip
# Before R espeak writes these vowels short/open: "clear" is klˈɪɹ, "car" kˈɑːɹ.
_BEFORE_R = {"IY": "ɪ", "IH": "ɪ", "EH": "ɛ", "EY": "ɛ", "UH": "ʊ", "UW": "ʊ", "AA": "ɑː", "AO": "ɔː"}
_STRESS = {"0": "", "1": "ˈ", "2": "ˌ"}


def to_ipa(phones: tuple[str, ...] | list[str]) -> str:
    """One ARPAbet word → espeak-style IPA (``K L IY1 R`` → ``klˈɪɹ``), stress mark before the vowel."""
    out: list[str] = []
    for i, token in enumerate(phones):
        base, stress = (token[:-1], token[-1]) if token[-1].isdigit() else (token, None)
        if stress is None:
            out.append(_IPA[base])
            continue
        following = phones[i + 1] if i + 1 < len(phones) else ""
        if base == "AH" and stress == "0":
            ipa = "ə"
        elif base == "ER":
            ipa = "ɜː" if stress == "1" else "ɚ"
        elif following == "R" and base in _BEFORE_R:
            ipa = _BEFORE_R[base]
        else:
            ipa = _IPA[base]
        out.append(_STRESS[stress] + ipa)
    return "".join(out)


# IPA → ARPAbet for lexicon entries written in IPA (PLS's usual alphabet): longest symbol first; length marks and
# syllable dots carry nothing ARPAbet can say.
_FROM_IPA = {
    "tʃ": "CH", "dʒ": "JH", "aʊ": "AW", "aɪ": "AY", "eɪ": "EY", "oʊ": "OW", "əʊ": "OW", "ɔɪ": "OY", "ɜɹ": "ER",
    "ɑ": "AA", "ɒ": "AA", "a": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɔ": "AO", "ɛ": "EH", "e": "EH", "ɜ": "ER",
    "ɚ": "ER", "ɝ": "ER", "ɪ": "IH", "i": "IY", "o": "OW", "ʊ": "UH", "u": "UW",
    "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G", "h": "HH", "k": "K", "l": "L", "m": "M", "n": "N",
    "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "s": "S", "ʃ": "SH", "t": "T", "θ": "TH", "v": "V", "w": "W",
    "j": "Y", "z": "Z", "ʒ": "ZH", "ɾ": "T", "ʔ": "T",
}  # fmt: skip
_IPA_SYMBOL = re.compile("|".join(sorted(map(re.escape, _FROM_IPA), key=len, reverse=True)) + "|ˈ|ˌ|[ː.\\s]|.")


def from_ipa(ipa: str) -> list[str]:
    """One word in IPA → ARPAbet (``ŋwiən`` → ``NG W IY0 AH0 N``): a stress mark goes to the next vowel, other
    vowels get 0. Raises ``ArpabetError`` naming a symbol it has no phoneme for."""
    out: list[str] = []
    stress = "0"
    for symbol in _IPA_SYMBOL.findall(ipa):
        if symbol in ("ˈ", "ˌ"):
            stress = "1" if symbol == "ˈ" else "2"
        elif symbol in _FROM_IPA:
            phone = _FROM_IPA[symbol]
            if phone in VOWELS:
                phone, stress = phone + stress, "0"
            out.append(phone)
        elif not (symbol == "ː" or symbol == "." or symbol.isspace()):
            raise ArpabetError(f"IPA symbol '{symbol}' has no ARPAbet phoneme")
    if not out:
        raise ArpabetError(f"'{ipa}' has no phonemes")
    return out
