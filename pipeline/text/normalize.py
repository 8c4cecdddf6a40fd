"""Numbers, dates, currency and units spelled out for speech, via wetext (WeTextProcessing's FST runtime).

wetext ships its compiled grammars inside the wheel, so it works offline; it is the normalizer CosyVoice's own
frontend falls back to, which keeps CPU voices and the production model reading "2024年3月5日" the same way.
Only plain-text runs are normalized: pinyin/phoneme overrides, breaks and tags pass through untouched.
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
_lock = threading.Lock()


@lru_cache(maxsize=len(SUPPORTED))
def _normalizer(language: str):
    from wetext import Normalizer

    return Normalizer(lang=language, operator="tn")


def normalize_text(text: str, language: str) -> str:
    """Spell out one run of text; surrounding whitespace is kept (wetext strips it)."""
    language = langs.primary(language)
    core = text.strip()
    if language not in SUPPORTED or not _NEEDS_NORMALIZING.search(core):
        return text
    spoken = _spell_out(core, language)
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{spoken}{trail}"


@lru_cache(maxsize=4096)
def _spell_out(core: str, language: str) -> str:
    with _lock:  # the FST objects are not documented as thread-safe
        return _normalizer(language).normalize(core)


def normalize(utterance: Utterance, language: str) -> Utterance:
    return map_text(utterance, lambda run: normalize_text(run, language))
