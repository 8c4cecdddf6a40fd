"""Script markup → a structured utterance that each engine renders its own way.

The grammar (CosyVoice3-compatible where CosyVoice has a form for it):

* ``[h][ào]`` or ``[hao4]`` — a Mandarin syllable standing in for one character (pinyin override);
* ``[K][L][IY1][R]`` — an English word given as ARPAbet phonemes;
* ``<break time="500ms"/>`` and ``[pause:0.5]`` — silence;
* ``[breath]``, ``[laughter]``, ``[sigh]`` … — non-verbal events; ``<strong>…</strong>``, ``<laughter>…</laughter>``;
* ``\\[ \\] \\< \\> \\\\`` — literal characters.

Parsing collects every problem with its offset instead of stopping at the first, so a script author sees all of
them at once. ``render`` writes the canonical form; ``parse(render(u)) == u`` for every canonical utterance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from pipeline.text import arpabet, pinyin

EVENTS = frozenset(
    "breath quick_breath laughter sigh cough mn lipsmack hissing clucking vocalized-noise noise accent".split()
)
SPANS = frozenset({"strong", "laughter"})
MAX_BREAK_S = 10.0
ESCAPABLE = frozenset("[]<>\\")

_MARKUP_TAG = re.compile(rf"^</?(?:{'|'.join(sorted(SPANS))})\s*>$|^<break\b[^<>]*>$", re.IGNORECASE)
_PLAIN = re.compile(r"[^\\\[\]<]*")
_BREAK_ATTR = re.compile(r"""^break(?:\s+time\s*=\s*(["'])(?P<time>[^"']*)\1)?\s*/?$""")
_DURATION = re.compile(r"^\s*(?P<num>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>ms|s)?\s*$")


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Pinyin:
    """Syllables in canonical tone-number form (``hao4``), each replacing one character."""

    syllables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Phonemes:
    """One word spelled in ARPAbet."""

    phones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Break:
    seconds: float


@dataclass(frozen=True, slots=True)
class Event:
    name: str


@dataclass(frozen=True, slots=True)
class Span:
    kind: str
    children: tuple[Segment, ...]


Segment = Text | Pinyin | Phonemes | Break | Event | Span


@dataclass(frozen=True, slots=True)
class Utterance:
    segments: tuple[Segment, ...]

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)


@dataclass(frozen=True, slots=True)
class MarkupIssue:
    offset: int
    message: str

    @property
    def column(self) -> int:
        return self.offset + 1

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


class MarkupError(ValueError):
    def __init__(self, issues: list[MarkupIssue]):
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


# --------------------------------------------------------------------------------------------------- parsing


@dataclass
class _Frame:
    kind: str | None
    offset: int
    children: list[Segment] = field(default_factory=list)


class _Parser:
    def __init__(self, source: str):
        self.s = source
        self.issues: list[MarkupIssue] = []
        self.stack: list[_Frame] = [_Frame(None, 0)]
        self.text: list[str] = []
        self.run: list[tuple[str, int]] = []

    def issue(self, offset: int, message: str) -> None:
        self.issues.append(MarkupIssue(offset, message))

    def emit(self, segment: Segment) -> None:
        self.stack[-1].children.append(segment)

    def flush_text(self) -> None:
        if self.text:
            self.emit(Text("".join(self.text)))
            self.text.clear()

    def flush_run(self) -> None:
        run, self.run = self.run, []
        group: list[tuple[str, int]] = []
        group_kind = ""
        for token, offset in run:
            kind = _bracket_kind(token)
            if kind != group_kind or kind not in ("pinyin", "phonemes"):
                self._emit_group(group_kind, group)
                group, group_kind = [], kind
            group.append((token, offset))
        self._emit_group(group_kind, group)

    def _emit_group(self, kind: str, group: list[tuple[str, int]]) -> None:
        if not group:
            return
        if kind == "pinyin":
            syllables = _pinyin_group(group, self.issue)
            if syllables:
                self.emit(Pinyin(tuple(syllables)))
        elif kind == "phonemes":
            phones = []
            for token, offset in group:
                try:
                    phones.append(arpabet.validate(token))
                except arpabet.ArpabetError as exc:
                    self.issue(offset, str(exc))
            if phones:
                self.emit(Phonemes(tuple(phones)))
        elif kind == "pause":
            token, offset = group[0]
            seconds = _duration(token.partition(":")[2], offset, self.issue)
            if seconds is not None:
                self.emit(Break(seconds))
        elif kind == "event":
            self.emit(Event(group[0][0]))
        else:
            token, offset = group[0]
            self.issue(offset, f"unknown tag [{token}] (escape literal brackets as \\[ and \\])")

    def parse(self) -> Utterance:
        s, n, pos = self.s, len(self.s), 0
        while pos < n:
            c = s[pos]
            if c == "\\" and pos + 1 < n and s[pos + 1] in ESCAPABLE:
                self.flush_run()
                self.text.append(s[pos + 1])
                pos += 2
            elif c == "[":
                end = s.find("]", pos + 1)
                inner = s.find("[", pos + 1)
                if end < 0 or 0 <= inner < end:
                    self.issue(pos, "'[' is never closed (escape a literal bracket as \\[)")
                    self.flush_run()
                    self.text.append(c)
                    pos += 1
                    continue
                self.flush_text()
                self.run.append((s[pos + 1 : end], pos))
                pos = end + 1
            elif c == "]":
                self.issue(pos, "']' without a matching '[' (escape a literal bracket as \\])")
                self.flush_run()
                self.text.append(c)
                pos += 1
            elif c == "<" and pos + 1 < n and ((s[pos + 1].isascii() and s[pos + 1].isalpha()) or s[pos + 1] == "/"):
                end = s.find(">", pos + 1)
                if end < 0:
                    self.issue(pos, "'<' tag is never closed with '>'")
                    self.flush_run()
                    self.text.append(c)
                    pos += 1
                    continue
                self.flush_run()
                self.flush_text()
                self._tag(s[pos + 1 : end].strip(), pos)
                pos = end + 1
            else:
                self.flush_run()
                end = max(_PLAIN.match(s, pos).end(), pos + 1)  # a run of ordinary characters at once
                self.text.append(s[pos:end])
                pos = end
        self.flush_run()
        self.flush_text()
        while len(self.stack) > 1:
            frame = self.stack[-1]
            self.issue(frame.offset, f"<{frame.kind}> is never closed")
            self._close_top()
        if self.issues:
            raise MarkupError(sorted(self.issues, key=lambda i: i.offset))
        return Utterance(canonical(self.stack[0].children))

    def _tag(self, tag: str, offset: int) -> None:
        if tag.startswith("/"):
            kind = tag[1:].strip()
            if self.stack[-1].kind == kind:
                self._close_top()
            elif any(f.kind == kind for f in self.stack):
                self.issue(offset, f"</{kind}> closes before the inner <{self.stack[-1].kind}>")
            else:
                self.issue(offset, f"</{kind}> has no opening <{kind}>")
            return
        if tag in SPANS:
            if any(f.kind == tag for f in self.stack):
                self.issue(offset, f"<{tag}> inside another <{tag}>")
            self.stack.append(_Frame(tag, offset))
            return
        if tag == "break" or tag.startswith("break ") or tag.startswith("break/"):
            match = _BREAK_ATTR.match(tag)
            if match is None or match.group("time") is None:
                self.issue(offset, '<break> needs a time, e.g. <break time="500ms"/>')
                return
            seconds = _duration(match.group("time"), offset, self.issue)
            if seconds is not None:
                self.emit(Break(seconds))
            return
        self.issue(
            offset, f"unknown tag <{tag}> (known: <break time=…/>, {', '.join(f'<{k}>' for k in sorted(SPANS))})"
        )

    def _close_top(self) -> None:
        frame = self.stack.pop()
        self.emit(Span(frame.kind or "", canonical(frame.children)))


def _bracket_kind(token: str) -> str:
    if token.startswith("pause:"):
        return "pause"
    if token in EVENTS:
        return "event"
    if token and arpabet.looks_like_arpabet(token):
        return "phonemes"
    if token and token.replace(":", "").isalnum() and not token.isupper():
        return "pinyin"
    return "unknown"


def _pinyin_group(group: list[tuple[str, int]], issue: Callable[[int, str], None]) -> list[str]:
    syllables: list[str] = []
    i = 0
    while i < len(group):
        token, offset = group[i]
        if pinyin.is_initial(token) and i + 1 < len(group) and not pinyin.is_initial(group[i + 1][0]):
            token = token + group[i + 1][0]
            i += 1
        elif pinyin.is_initial(token):
            issue(offset, f"pinyin initial [{token}] has no final after it")
            i += 1
            continue
        try:
            syllables.append(pinyin.to_canonical(token))
        except pinyin.PinyinError:
            issue(
                offset, f"[{token}] is neither a known tag nor a pinyin syllable (escape literal brackets as \\[ \\])"
            )
        i += 1
    return syllables


def _duration(value: str, offset: int, issue: Callable[[int, str], None]) -> float | None:
    match = _DURATION.match(value)
    if match is None:
        issue(offset, f"pause length '{value}' is not a duration (use 0.5, 0.5s or 500ms)")
        return None
    seconds = float(match.group("num")) / (1000.0 if match.group("unit") == "ms" else 1.0)
    seconds = round(seconds, 3)
    if not 0 < seconds <= MAX_BREAK_S:
        issue(offset, f"pause of {seconds:g}s is outside (0, {MAX_BREAK_S:g}] seconds")
        return None
    return seconds


def is_markup_tag(tag: str) -> bool:
    """Is ``<…>`` one of our tags (``<break time=…/>``, ``<strong>``, ``</laughter>`` …), as opposed to HTML?"""
    return _MARKUP_TAG.match(tag) is not None


def parse(source: str) -> Utterance:
    """Parse script text; raises ``MarkupError`` listing every problem with its offset."""
    return _Parser(source).parse()


# --------------------------------------------------------------------------------------------- canonical form


def canonical(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Merge what the text form cannot tell apart: adjacent text, adjacent syllables, adjacent phonemes."""
    out: list[Segment] = []
    for seg in segments:
        if isinstance(seg, Text) and not seg.text:
            continue
        prev = out[-1] if out else None
        if isinstance(seg, Text) and isinstance(prev, Text):
            out[-1] = Text(prev.text + seg.text)
        elif isinstance(seg, Pinyin) and isinstance(prev, Pinyin):
            out[-1] = Pinyin(prev.syllables + seg.syllables)
        elif isinstance(seg, Phonemes) and isinstance(prev, Phonemes):
            out[-1] = Phonemes(prev.phones + seg.phones)
        elif isinstance(seg, Span):
            out.append(Span(seg.kind, canonical(seg.children)))
        else:
            out.append(seg)
    return tuple(out)


_ESCAPE = str.maketrans({c: "\\" + c for c in ESCAPABLE})


def _escape(text: str) -> str:
    return text.translate(_ESCAPE)


def _render(segments: Iterable[Segment]) -> str:
    parts: list[str] = []
    for seg in segments:
        match seg:
            case Text(text):
                parts.append(_escape(text))
            case Pinyin(syllables):
                parts.extend(f"[{s}]" for s in syllables)
            case Phonemes(phones):
                parts.extend(f"[{p}]" for p in phones)
            case Break(seconds):
                parts.append(f"[pause:{seconds:g}]")
            case Event(name):
                parts.append(f"[{name}]")
            case Span(kind, children):
                parts.append(f"<{kind}>{_render(children)}</{kind}>")
    return "".join(parts)


def render(utterance: Utterance) -> str:
    """The canonical markup text of an utterance."""
    return _render(utterance.segments)


def _plain(segments: Iterable[Segment]) -> Iterator[str]:
    for seg in segments:
        match seg:
            case Text(text):
                yield text
            case Pinyin(syllables):
                yield "".join(pinyin.to_tone_marks(s) for s in syllables)
            case Phonemes(phones):
                yield "/" + " ".join(phones) + "/"
            case Break() | Event():
                yield " "
            case Span(_, children):
                yield from _plain(children)


def plain(utterance: Utterance) -> str:
    """What a reader sees: markup removed, pronunciations shown as pinyin or /ARPAbet/, whitespace collapsed."""
    return " ".join("".join(_plain(utterance.segments)).split())


def features(utterance: Utterance) -> frozenset[str]:
    """Markup features used (``pinyin``, ``phonemes``, ``break``, ``event:sigh``, ``span:strong``) — engines
    compare this with what they honour and warn about what they drop."""
    found: set[str] = set()

    def walk(segments: Iterable[Segment]) -> None:
        for seg in segments:
            match seg:
                case Pinyin():
                    found.add("pinyin")
                case Phonemes():
                    found.add("phonemes")
                case Break():
                    found.add("break")
                case Event(name):
                    found.add(f"event:{name}")
                case Span(kind, children):
                    found.add(f"span:{kind}")
                    walk(children)

    walk(utterance.segments)
    return frozenset(found)


def map_text(utterance: Utterance, fn: Callable[[str], str]) -> Utterance:
    """Apply ``fn`` to every plain-text run (normalization), leaving overrides, breaks and tags alone."""

    def walk(segments: Iterable[Segment]) -> tuple[Segment, ...]:
        out: list[Segment] = []
        for seg in segments:
            if isinstance(seg, Text):
                out.append(Text(fn(seg.text)))
            elif isinstance(seg, Span):
                out.append(Span(seg.kind, walk(seg.children)))
            else:
                out.append(seg)
        return canonical(out)

    return Utterance(walk(utterance.segments))
