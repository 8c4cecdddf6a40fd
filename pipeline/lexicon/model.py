"""A project's pronunciation lexicon: words and names → an alias, ARPAbet or pinyin, applied to every line.

Entries are applied to the plain-text runs of a line's markup (never inside an override the script already wrote),
before numbers are spelled out: a Latin-script word matches on word boundaries, case-insensitively unless the
entry says ``match_case``; a CJK word matches wherever it stands (there are no spaces to bound it). The longest
word wins where entries overlap. What a line used is recorded with it, so the cache key (through the rendered
markup) changes for exactly the lines an entry touches, and the review page can show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pipeline.text.lang import primary, writing_system
from pipeline.text.markup import Phonemes, Pinyin, Segment, Span, Text, Utterance, canonical

Kind = Literal["alias", "arpabet", "pinyin"]
_WORD_CHAR = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class Entry:
    grapheme: str
    kind: Kind
    value: tuple[str, ...]  # the alias (one item), or ARPAbet phones / pinyin syllables in canonical form
    lang: str | None = None  # primary subtag it applies to; None = every language
    match_case: bool = False
    source: str = ""  # file:line, for messages and the review page

    def segments(self) -> tuple[Segment, ...]:
        if self.kind == "alias":
            return (Text(self.value[0]),)
        if self.kind == "arpabet":
            return (Phonemes(self.value),)
        return (Pinyin(self.value),)

    @property
    def spelling(self) -> str:
        """What it is looked up by: the grapheme as written (``match_case``) or casefolded."""
        return self.grapheme if self.match_case else self.grapheme.casefold()

    def shown(self) -> str:
        """``SQL → sequel``, ``Nguyen → /N W IY1 N/``, ``西安 → xi1 an1``: how the review page lists it."""
        said = {"alias": self.value[0], "arpabet": f"/{' '.join(self.value)}/", "pinyin": " ".join(self.value)}
        return f"{self.grapheme} → {said[self.kind]}"


@dataclass
class Lexicon:
    entries: list[Entry] = field(default_factory=list)
    _compiled: dict[str, tuple[re.Pattern[str], dict[str, Entry]] | None] = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def for_lang(self, lang: str) -> list[Entry]:
        return [e for e in self.entries if e.lang is None or e.lang == primary(lang)]

    def apply(self, utterance: Utterance, lang: str) -> tuple[Utterance, tuple[Entry, ...]]:
        """The utterance with every entry's word replaced by its pronunciation, and the entries used (in order of
        first use)."""
        compiled = self._compile(lang)
        if compiled is None:
            return utterance, ()
        pattern, lookup = compiled
        used: dict[Entry, None] = {}

        def replace(text: str) -> list[Segment]:
            out: list[Segment] = []
            last = 0
            for match in pattern.finditer(text):
                entry = lookup.get(match.group(0)) or lookup.get(match.group(0).casefold())
                if entry is None:  # a case-sensitive entry met another spelling: not ours
                    continue
                out.append(Text(text[last : match.start()]))
                out.extend(entry.segments())
                used.setdefault(entry)
                last = match.end()
            out.append(Text(text[last:]))
            return out

        def walk(items: tuple[Segment, ...]) -> tuple[Segment, ...]:
            out: list[Segment] = []
            for seg in items:
                if isinstance(seg, Text):
                    out.extend(replace(seg.text))
                elif isinstance(seg, Span):
                    out.append(Span(seg.kind, walk(seg.children)))
                else:
                    out.append(seg)
            return canonical(out)

        return Utterance(walk(utterance.segments)), tuple(used)

    def _compile(self, lang: str) -> tuple[re.Pattern[str], dict[str, Entry]] | None:
        """One alternation of the language's words (longest first) and their entries by spelling, once per language."""
        key = primary(lang)
        if key not in self._compiled:
            entries = sorted(self.for_lang(lang), key=lambda e: len(e.grapheme), reverse=True)
            lookup: dict[str, Entry] = {}
            for entry in entries:
                lookup.setdefault(entry.spelling, entry)
            pattern = re.compile("|".join(map(_alternative, entries))) if entries else None
            self._compiled[key] = (pattern, lookup) if pattern is not None else None
        return self._compiled[key]


def _alternative(entry: Entry) -> str:
    word = re.escape(entry.grapheme)
    if not entry.match_case:
        word = f"(?i:{word})"
    # Word boundaries where the grapheme starts or ends with a word character that is not CJK.
    before = r"(?<!\w)" if _bounded(entry.grapheme[0]) else ""
    after = r"(?!\w)" if _bounded(entry.grapheme[-1]) else ""
    return f"{before}{word}{after}"


def _bounded(char: str) -> bool:
    """A word character of an alphabet (or a digit): CJK scripts have no spaces to bound a word."""
    return bool(_WORD_CHAR.match(char)) and writing_system(char) in ("alphabet", None)
