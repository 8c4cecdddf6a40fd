"""W3C Pronunciation Lexicon Specification 1.0 (PLS), the format studios and TTS vendors exchange::

    <lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en-US">
      <lexeme><grapheme>Nguyen</grapheme><phoneme>ŋwiən</phoneme></lexeme>
      <lexeme><grapheme>SQL</grapheme><alias>sequel</alias></lexeme>
    </lexicon>

Each ``<lexeme>`` gives one or more graphemes and its first ``<phoneme>`` (in the lexicon's or the phoneme's own
``alphabet``: ``ipa``, ``x-arpabet``/``cmu-arpabet`` or ``x-pinyin``) or ``<alias>``. Read with expat, line by
line; a DOCTYPE or entity declaration is refused (no entity expansion, no external fetch): a lexicon from outside is
untrusted input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

from pipeline.lexicon.entries import make_entry
from pipeline.lexicon.model import Entry
from pipeline.scripts.model import Report

NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"
XML_LANG = "http://www.w3.org/XML/1998/namespace lang"
# PLS names alphabets freely: "ipa" is the standard's; ElevenLabs' dictionaries export ARPAbet as "cmu-arpabet".
ALPHABETS = {"ipa": "ipa", "x-arpabet": "arpabet", "arpabet": "arpabet", "cmu-arpabet": "arpabet",
             "x-pinyin": "pinyin", "pinyin": "pinyin"}  # fmt: skip


class _Refused(ValueError):
    pass


@dataclass
class _Lexeme:
    line: int
    graphemes: list[str] = field(default_factory=list)
    pronunciations: list[tuple[str, str]] = field(default_factory=list)  # (alphabet, value) in document order


def parse_pls(data: bytes, report: Report) -> list[Entry]:
    lexemes: list[_Lexeme] = []
    state: dict[str, str | None] = {"alphabet": None, "lang": None}
    stack: list[tuple[str, dict[str, str], int]] = []
    text: list[str] = []
    parser = expat.ParserCreate(namespace_separator=" ")

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        line = parser.CurrentLineNumber
        if not stack and local != "lexicon":
            raise _Refused(f"the root element is <{local}>, not a PLS <lexicon>")
        if local == "lexicon":
            state["alphabet"], state["lang"] = attrs.get("alphabet"), attrs.get(XML_LANG)
        elif local == "lexeme":
            lexemes.append(_Lexeme(line))
        stack.append((local, attrs, line))
        text.clear()

    def end(name: str) -> None:
        local, attrs, _ = stack.pop()
        value = "".join(text)
        text.clear()
        if not lexemes or local not in ("grapheme", "phoneme", "alias"):
            return
        if local == "grapheme":
            lexemes[-1].graphemes.append(value)
        elif local == "alias":
            lexemes[-1].pronunciations.append(("alias", value))
        else:
            lexemes[-1].pronunciations.append((attrs.get("alphabet") or state["alphabet"] or "", value))

    def refuse(*_: object) -> None:
        raise _Refused("DOCTYPE and entity declarations are not allowed in a lexicon")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text.append
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = lambda *_: refuse()
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        report.error(exc.lineno, "lexicon-xml", f"not well-formed XML: {expat.errors.messages[exc.code]}")
        return []
    except _Refused as exc:
        report.error(parser.CurrentLineNumber, "lexicon-pls", str(exc))
        return []
    return [e for lexeme in lexemes for e in _entries(report, lexeme, state["lang"])]


def _entries(report: Report, lexeme: _Lexeme, lang: str | None) -> list[Entry]:
    if not lexeme.graphemes:
        report.error(lexeme.line, "lexicon-empty-word", "a <lexeme> without a <grapheme>")
        return []
    if not lexeme.pronunciations:
        report.error(lexeme.line, "lexicon-empty-pronunciation", "a <lexeme> without a <phoneme> or <alias>")
        return []
    alphabet, value = lexeme.pronunciations[0]  # PLS: the first pronunciation is the preferred one
    if alphabet != "alias":
        if alphabet.lower() not in ALPHABETS:
            known = ", ".join(sorted(ALPHABETS))
            report.error(lexeme.line, "lexicon-bad-alphabet", f"alphabet '{alphabet}' is not one of {known}")
            return []
        alphabet = ALPHABETS[alphabet.lower()]
    entries = [make_entry(report, lexeme.line, g, alphabet, value, None, False, lang) for g in lexeme.graphemes]
    return [e for e in entries if e is not None]
