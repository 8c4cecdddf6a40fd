"""Language of each line when the script does not say.

The writing system decides first, because it is certain and free: kana is Japanese, Hangul Korean, Han Chinese
(or Japanese, in a script whose other lines carry kana). Latin and Cyrillic lines go to lingua, whose n-gram models
ship inside its wheel (offline), restricted to the languages a studio works in (``ingest.languages``). A short
line ("Yes.", "Oui.") says too little to be sure of, so an unsure line takes the language most of the file's lines
in the same writing system are confidently in; only a file that gives no evidence at all falls back to the default.
Cantonese (``yue``) is never guessed: Han text is written the same way, so a script marks it (``lang`` column,
``<lang yue>``) or a style asks for it.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_LETTER = re.compile(r"[^\W\d_]")

# Written in their own script: decided by the characters, never by lingua.
CJK = frozenset({"zh", "ja", "ko", "yue"})
DEFAULT_CANDIDATES = ("en", "zh", "ja", "ko", "fr", "de", "es", "it", "pt", "ru")
# A line is taken at lingua's word when lingua is nearly certain, or when the line has this many words and letters
# and its best language is this many times as likely as the next; otherwise the file decides.
CERTAIN = 0.9
MIN_WORDS = 2
MIN_LETTERS = 8
MIN_MARGIN = 2.5
SAMPLE_CHARS = 300  # enough to tell a language by; lingua's cost grows with the text


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


def writing_system(text: str) -> str | None:
    """``kana``, ``hangul``, ``han``, ``alphabet`` (Latin, Cyrillic, …) or None for text without letters."""
    if _KANA.search(text):
        return "kana"
    if _HANGUL.search(text):
        return "hangul"
    if _HAN.search(text):
        return "han"
    return "alphabet" if _LETTER.search(text) else None


def normalize_tag(tag: str) -> str:
    """``zh-CN`` → ``zh-cn``; raises ``ValueError`` for anything that is not a language tag our keys can hold."""
    from pipeline.ids import InvalidIdError, check_lang, shown

    value = tag.strip().replace("_", "-").lower()
    try:
        return check_lang(value)
    except InvalidIdError as exc:
        raise ValueError(f"{shown(tag)} is not a language tag (expected e.g. en, zh, yue, en-us)") from exc


def primary(tag: str) -> str:
    """``zh-cn`` → ``zh``: engines and normalizers choose by the primary subtag."""
    return tag.split("-", 1)[0]


@lru_cache(maxsize=4)
def _detector(candidates: tuple[str, ...]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(c) for c in candidates]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def check_candidates(candidates: Sequence[str]) -> None:
    """Raise ``ValueError`` naming a configured language lingua does not know (at settings load, not mid-run)."""
    from lingua import IsoCode639_1

    for code in candidates:
        if code in CJK:
            continue
        try:
            IsoCode639_1.from_str(code)
        except ValueError as exc:
            raise ValueError(f"'{code}' is not a language the detector knows (ISO 639-1 codes)") from exc


def _alphabet_guesses(texts: list[str], candidates: tuple[str, ...]) -> list[tuple[str, float, float]]:
    """(language, its confidence, the runner-up's) for each text, from lingua; one candidate needs no model."""
    if len(candidates) == 1:
        return [(candidates[0], 1.0, 0.0)] * len(texts)
    detector = _detector(candidates)
    out: list[tuple[str, float, float]] = []
    for values in detector.compute_language_confidence_values_in_parallel([t[:SAMPLE_CHARS] for t in texts]):
        top, second = values[0], values[1]
        out.append((top.language.iso_code_639_1.name.lower(), top.value, second.value))
    return out


def detect_lines(texts: Sequence[str], default: str, candidates: Sequence[str] = DEFAULT_CANDIDATES) -> list[str]:
    """One language per text, each judged with the others of its file as context (see the module docstring)."""
    systems = [writing_system(t) for t in texts]
    alphabet_candidates = tuple(c for c in candidates if c not in CJK)
    guesses: dict[int, tuple[str, float, float]] = {}
    alphabet = [i for i, s in enumerate(systems) if s == "alphabet"]
    if alphabet and alphabet_candidates:
        for i, guess in zip(
            alphabet, _alphabet_guesses([texts[i] for i in alphabet], alphabet_candidates), strict=True
        ):
            guesses[i] = guess

    def judged(i: int) -> bool:
        _, top, second = guesses[i]
        if top >= CERTAIN:
            return True
        text = texts[i][:SAMPLE_CHARS]
        letters = sum(1 for _ in itertools.islice(_LETTER.finditer(text), MIN_LETTERS))
        return len(text.split(None, MIN_WORDS)) >= MIN_WORDS and letters >= MIN_LETTERS and top >= MIN_MARGIN * second

    certain = {i: judged(i) for i in guesses}

    confident = Counter(guesses[i][0] for i in alphabet if certain[i])
    alphabet_prior = confident.most_common(1)[0][0] if confident else (default if default not in CJK else None)
    japanese = systems.count("kana") > 0 and systems.count("kana") >= systems.count("han") / 4
    han = "ja" if japanese and "ja" in candidates else "zh"

    out: list[str | None] = []
    for i, system in enumerate(systems):
        if system == "kana":
            out.append("ja")
        elif system == "hangul":
            out.append("ko")
        elif system == "han":
            out.append(han)
        elif system == "alphabet" and i in guesses:
            out.append(guesses[i][0] if certain[i] or alphabet_prior is None else alphabet_prior)
        elif system == "alphabet":
            out.append(alphabet_prior or default)
        else:
            out.append(None)  # no letters ("123", "…"): the file's main language, below
    decided = Counter(lang for lang in out if lang is not None)
    main = decided.most_common(1)[0][0] if decided else default
    return [lang or main for lang in out]


def detect(text: str, default: str, candidates: Sequence[str] = DEFAULT_CANDIDATES) -> str:
    """The language of one text on its own (the ``dubflow text`` command, a voice preview)."""
    return detect_lines([text], default, candidates)[0]
