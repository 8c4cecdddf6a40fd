"""Pinyin as CosyVoice3's tokenizer spells it: only tokens its vocabulary has.

Upstream's ``CosyVoice3Tokenizer`` (``cosyvoice/tokenizer/tokenizer.py``) adds a fixed list of pinyin initials and
tone-marked finals as special tokens. A bracket that is not in that list is not an error upstream: it is split
into ordinary text tokens and read as letters, silently. So every syllable is rendered here to tokens from the
list below (a copy of upstream's; ``tests/engines/test_cosyvoice_tokens.py`` checks it against upstream's source),
and where upstream has no token for the exact final, the nearest one is used and said:

* ``ü`` finals are written ``v`` where upstream does (``lüè`` → ``[l][vè]``);
* a tone upstream lacks for a final falls back to the nearest tone it has (the neutral tone to the bare final,
  then the fourth, first, second, third tones);
* the interjections with no vowel (``m``, ``n``, ``ng``, ``hm``, ``hng``) are read through ``en``/``eng``, and
  ``ê`` through ``e``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pypinyin.contrib.tone_convert import to_finals, to_initials, to_tone

# upstream CosyVoice3Tokenizer, commit ace7c47: the pinyin part of additional_special_tokens, without brackets.
INITIALS = frozenset("b c ch d f g h j k l m n p q r s sh t w x y z zh".split())
FINALS = frozenset(
    """a ai an ang ao e ei en eng i ian in ing iu ià iàn iàng iào iá ián iáng iáo iè ié iòng ióng iù iú iā iān
    iāng iāo iē iě iōng iū iǎ iǎn iǎng iǎo iǒng iǔ o ong ou u uang ue un uo uà uài uàn uàng uá uái uán uáng uè ué uì
    uí uò uó uā uāi uān uāng uē uě uī uō uǎ uǎi uǎn uǎng uǐ uǒ vè à ài àn àng ào á ái án áng áo è èi èn èng èr é
    éi én éng ér ì ìn ìng í ín íng ò òng òu ó óng óu ù ùn ú ún ā āi ān āng āo ē ēi ēn ēng ě ěi ěn ěng ěr ī īn
    īng ō ōng ōu ū ūn ǎ ǎi ǎn ǎng ǎo ǐ ǐn ǐng ǒ ǒng ǒu ǔ ǔn ǘ ǚ ǜ""".split()
)
TONE_FALLBACK = {1: (1, 4, 2, 3), 2: (2, 1, 3, 4), 3: (3, 2, 4, 1), 4: (4, 1, 2, 3), 5: (5, 4, 1, 2, 3)}
# syllables with no vowel: (initial, final read in its place)
_NO_VOWEL = {"m": ("m", "en"), "n": (None, "en"), "ng": (None, "eng"), "hm": ("h", "en"), "hng": ("h", "eng")}


@dataclass(frozen=True, slots=True)
class Rendering:
    tokens: tuple[str, ...]
    approximated: bool  # True where upstream has no token for the syllable as written


def _marked(final: str, tone: int) -> tuple[str, ...]:
    """The final with its tone mark, in upstream's two spellings of ü (``ü`` and ``v``)."""
    marked = to_tone(f"{final}{tone}") if tone != 5 else final
    return (marked, marked.replace("ü", "v")) if "ü" in marked else (marked,)


def render(syllable: str) -> Rendering:
    """Canonical tone-number pinyin (``hao4``, ``lve4``, ``er5``) → CosyVoice3 tokens without brackets."""
    base, tone = syllable[:-1], int(syllable[-1])
    approximated = False
    if base in _NO_VOWEL:
        initial, final = _NO_VOWEL[base]
        approximated = True
    elif base == "ê":
        initial, final = None, "e"
        approximated = True
    else:
        initial = to_initials(base, strict=False) or None
        final = to_finals(base.replace("v", "ü"), strict=False)
    for candidate in TONE_FALLBACK[tone]:
        for spelled in _marked(final, candidate):
            if spelled in FINALS:
                tokens = (initial, spelled) if initial else (spelled,)
                return Rendering(tokens, approximated or candidate != tone)
    raise ValueError(f"pinyin '{syllable}': no CosyVoice3 token for the final '{final}' in any tone")
