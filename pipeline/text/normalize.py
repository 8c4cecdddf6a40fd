"""Numbers, dates, currency and units spelled out for speech, via wetext (WeTextProcessing's FST runtime).

wetext ships its compiled grammars inside the wheel, so it works offline; it is the normalizer CosyVoice's own
frontend falls back to, which keeps CPU voices and the production model reading "2024年3月5日" the same way.
Only plain-text runs are normalized: pinyin/phoneme overrides, breaks and tags pass through untouched.

wetext fails on ordinary text now and then (an ``AssertionError`` for ``#3`` or ``20000$``), and its cost grows
faster than the length of its input. So text goes to it in pieces of at most ``PIECE`` characters cut at spaces,
and a piece it rejects is retried word by word; a word it still rejects is kept as written. Normalization never
raises: the caller gets the words that were kept (ingest warns about them, with the line).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from pipeline.text import lang as langs
from pipeline.text.markup import Utterance, map_text

SUPPORTED = frozenset({"zh", "en", "ja"})
# wetext costs ~5 ms a call; runs without digits or these symbols come back unchanged, so they skip it.
_NEEDS_NORMALIZING = re.compile(r"[0-9０-９$¥￥€£%％°&@#+=~/]")
PIECE = 200
_CUT = re.compile(r"(?<=[\s。，！？；、])")
_lock = threading.Lock()


@lru_cache(maxsize=len(SUPPORTED))
def _normalizer(language: str):
    from wetext import Normalizer

    return Normalizer(lang=language, operator="tn")


@lru_cache(maxsize=4096)
def _spell_out(core: str, language: str) -> str | None:
    """wetext's reading of ``core``, or None where wetext rejects it."""
    with _lock:  # the FST objects are not documented as thread-safe
        try:
            return _normalizer(language).normalize(core)
        except Exception:  # wetext asserts on inputs its grammar cannot tag
            return None


def _pieces(text: str) -> list[str]:
    """``text`` cut after spaces or CJK punctuation into pieces of at most ``PIECE`` characters (a longer word
    stays whole)."""
    if len(text) <= PIECE:
        return [text]
    out: list[str] = []
    current = ""
    for word in _CUT.split(text):
        if current and len(current) + len(word) > PIECE:
            out.append(current)
            current = ""
        current += word
    return [*out, current] if current else out


def _normalize_piece(piece: str, language: str, failed: list[str]) -> str:
    core = piece.strip()
    if not core or not _NEEDS_NORMALIZING.search(core):
        return piece
    spoken = _spell_out(core, language)
    if spoken is None:
        words = core.split()
        if len(words) == 1:
            failed.append(core)
            spoken = core
        else:
            spoken = " ".join(_normalize_piece(word, language, failed) for word in words)
    lead = piece[: len(piece) - len(piece.lstrip())]
    trail = piece[len(piece.rstrip()) :]
    return f"{lead}{spoken}{trail}"


def normalize_text(text: str, language: str, failed: list[str] | None = None) -> str:
    """Spell out one run of text; surrounding whitespace is kept (wetext strips it). Words wetext rejected are
    appended to ``failed`` and kept as written."""
    language = langs.primary(language)
    if language not in SUPPORTED or not _NEEDS_NORMALIZING.search(text):
        return text
    sink: list[str] = [] if failed is None else failed
    return "".join(_normalize_piece(piece, language, sink) for piece in _pieces(text))


def normalize(utterance: Utterance, language: str, failed: list[str] | None = None) -> Utterance:
    return map_text(utterance, lambda run: normalize_text(run, language, failed))
