"""One lexicon entry from what a file says (an alias, ARPAbet, IPA or pinyin), validated; shared by every format."""

from __future__ import annotations

from pipeline.lexicon.model import Entry
from pipeline.scripts.model import Report
from pipeline.text import arpabet, pinyin
from pipeline.text.lang import normalize_tag, primary

ALPHABETS = ("alias", "arpabet", "ipa", "pinyin")


def make_entry(
    report: Report,
    line: int | None,
    grapheme: str,
    alphabet: str,
    value: str,
    lang: str | None,
    match_case: bool,
    default_lang: str | None = None,
) -> Entry | None:
    """The entry, or None with the problem reported at ``line``. ``lang`` is the entry's own language,
    ``default_lang`` the file's; pinyin entries are Mandarin whatever the file's language."""
    grapheme, value = grapheme.strip(), value.strip()
    if not grapheme:
        report.error(line, "lexicon-empty-word", "an entry has no word (grapheme)")
        return None
    if not value:
        report.error(line, "lexicon-empty-pronunciation", f"'{grapheme}' has no pronunciation")
        return None
    if alphabet == "pinyin" and lang is None:
        lang = "zh"
    lang = lang if lang is not None else default_lang
    if lang is not None:
        try:
            lang = primary(normalize_tag(lang))
        except ValueError as exc:
            report.error(line, "lexicon-bad-lang", f"'{grapheme}': {exc}")
            return None
    if alphabet == "pinyin" and lang != "zh":
        report.error(line, "lexicon-bad-lang", f"'{grapheme}': pinyin is Mandarin (lang zh), not {lang}")
        return None
    source = f"{report.file}:{line}" if line else report.file
    try:
        if alphabet == "alias":
            return Entry(grapheme, "alias", (value,), lang, match_case, source)
        if alphabet == "arpabet":
            phones = tuple(arpabet.validate(p) for p in value.replace("[", " ").replace("]", " ").split())
            return Entry(grapheme, "arpabet", phones, lang, match_case, source)
        if alphabet == "ipa":
            return Entry(grapheme, "arpabet", tuple(arpabet.from_ipa(value)), lang, match_case, source)
        if alphabet == "pinyin":
            syllables = tuple(pinyin.to_canonical(s) for s in value.replace("[", " ").replace("]", " ").split())
            return Entry(grapheme, "pinyin", syllables, lang, match_case, source)
    except ValueError as exc:  # ArpabetError, PinyinError
        report.error(line, f"lexicon-bad-{alphabet}", f"'{grapheme}': {exc}")
        return None
    known = ", ".join(ALPHABETS)
    report.error(line, "lexicon-bad-alphabet", f"'{grapheme}': unknown alphabet '{alphabet}' (use {known})")
    return None
