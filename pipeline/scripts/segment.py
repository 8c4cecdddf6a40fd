"""Long text → synthesis-sized chunks, at sentence boundaries first and clause boundaries when a sentence is long.

Long inputs are where neural TTS drops or repeats words, so manuscripts are cut before synthesis. Sentences come
from sentencex (Wikimedia's segmenter: abbreviations, decimals, initials, in many languages, and fast enough for a
whole book: ~5 µs a paragraph where pysbd took ~0.8 ms); Chinese ends at 。！？；… plus closing quotes.
Markup is masked while splitting so a cut never lands inside ``[pause:0.5]`` or ``<break …/>``, and a chunk that
would split a ``<strong>`` span is merged with the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from pipeline.text.lang import has_han

Boundary = Literal["sentence", "clause", "cut", "end"]

_MARKUP = re.compile(r"\\.|\[[^\[\]]*\]|<[^<>]*>")
_ZH_SENTENCE_END = re.compile(r"[。！？!?；…]+[”’」』）)]*")
_CLAUSE_END = re.compile(r"[，,、：:；;—]+[”’」』）)]*\s*")
_SPAN_TAG = re.compile(r"<(/?)(strong|laughter)>")


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int
    end: int
    boundary: Boundary  # what ends this chunk


def _cjk(ch: str) -> bool:
    """Han characters and CJK/full-width punctuation: text that is written without spaces."""
    return has_han(ch) or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def join_lines(parts: list[str]) -> tuple[str, list[int]]:
    """Physical lines → one string (no space between two CJK characters, one space otherwise), plus the offset
    where each input line starts in it, so a later cut can be traced back to its source line."""
    out = ""
    starts: list[int] = []
    for part in parts:
        part = part.strip()
        if out and part and not (_cjk(out[-1]) and _cjk(part[0])):
            out += " "
        starts.append(len(out))
        out += part
    return out, starts


def _mask(text: str) -> str:
    return _MARKUP.sub(lambda m: "x" * len(m.group(0)), text)


def spoken_length(text: str) -> int:
    return len(_MARKUP.sub("", text).strip())


def _cuts(masked: str, pattern: re.Pattern[str]) -> list[int]:
    return [m.end() for m in pattern.finditer(masked) if m.end() < len(masked.rstrip())]


def sentence_cuts(text: str, lang: str) -> list[int]:
    masked = _mask(text)
    if lang.startswith("zh") or lang == "yue" or has_han(text):
        return _cuts(masked, _ZH_SENTENCE_END)
    from sentencex import segment

    cuts, end = [], 0
    for sentence in segment(lang.split("-", 1)[0], masked):  # the sentences put together are the text again
        end += len(sentence)
        cuts.append(end)
    return [c for c in cuts[:-1] if c < len(masked.rstrip())]


def _spans(text: str, cuts: list[int], start: int, end: int) -> list[tuple[int, int]]:
    points = [start, *[c for c in cuts if start < c < end], end]
    return [(a, b) for a, b in pairwise(points) if text[a:b].strip()]


def _balanced(text: str) -> bool:
    depth = 0
    for match in _SPAN_TAG.finditer(text):
        depth += -1 if match.group(1) else 1
    return depth == 0


def chunk(text: str, lang: str, max_chars: int) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``max_chars`` spoken characters where boundaries allow."""
    if spoken_length(text) <= max_chars:
        return [Chunk(0, len(text), "end")]
    clause_cuts = _cuts(_mask(text), _CLAUSE_END)
    pieces: list[tuple[int, int, Boundary]] = []
    for a, b in _spans(text, sentence_cuts(text, lang), 0, len(text)):
        if spoken_length(text[a:b]) > max_chars:
            clauses = _spans(text, clause_cuts, a, b)
            pieces += [(ca, cb, "clause") for ca, cb in clauses[:-1]] + [(*clauses[-1], "sentence")]
        else:
            pieces.append((a, b, "sentence"))
    chunks: list[Chunk] = []
    cur_start, cur_end, cur_kind = pieces[0]
    for a, b, kind in pieces[1:]:
        fits = spoken_length(text[cur_start:b]) <= max_chars
        if fits or not _balanced(text[cur_start:cur_end]):
            cur_end, cur_kind = b, kind
        else:
            chunks.append(Chunk(cur_start, cur_end, cur_kind))
            cur_start, cur_end, cur_kind = a, b, kind
    chunks.append(Chunk(cur_start, cur_end, "end"))
    return [piece for c in chunks for piece in _hard_cuts(text, c, max_chars)]


_SPACE = re.compile(r"\s+")


def _hard_cuts(text: str, piece: Chunk, max_chars: int) -> list[Chunk]:
    """A chunk still over the limit (no sentence or clause boundary in it) is cut at the last space before the
    limit, or at the limit in text without spaces, never inside markup or a ``<strong>`` span: no line reaches a
    voice unsplit (a span longer than the limit stays whole; synthesis refuses it if it is too long to say)."""
    out: list[Chunk] = []
    start = piece.start
    masked = _mask(text)
    while spoken_length(text[start : piece.end]) > max_chars:
        limit = start + max_chars
        while limit < piece.end and spoken_length(text[start:limit]) < max_chars:
            limit += 1  # markup takes room in the text but none in speech
        spaces = [m.start() for m in _SPACE.finditer(masked, start, limit) if m.start() > start]
        candidates = [*reversed(spaces), *range(limit, start, -1)]  # at a space, else anywhere outside markup
        later = (m.start() for m in _SPACE.finditer(masked, limit, piece.end))  # else just after a long span
        cut = next((c for c in (*candidates, *later) if _cuttable(text, masked, start, c)), None)
        if cut is None or cut >= piece.end:
            break
        out.append(Chunk(start, cut, "cut"))
        start = cut
    out.append(Chunk(start, piece.end, piece.boundary))
    return out


def _cuttable(text: str, masked: str, start: int, cut: int) -> bool:
    """Not inside a markup token (masked to x's) and not inside a span."""
    inside_token = cut < len(text) and masked[cut] == "x" and text[cut] != "x" and masked[cut - 1] == "x"
    return not inside_token and _balanced(text[start:cut])
