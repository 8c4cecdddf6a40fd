"""Fuzz inputs for script files: raw bytes and text, and files built to each format's structure with fuzzed
content, so that generated inputs reach the cue, row and markup code instead of stopping at the first check.
Shared by tests/scripts/test_fuzz.py and bench/fuzz_ingest.py.

Each structured file is built from one drawn seed with :class:`random.Random`: Hypothesis spent three quarters of
the test's time on its own ~130 draws per file (27 s per format, 7 s of them ingest). A failing seed is shown as
the bytes it built, and rebuilds them exactly; a Hypothesis-native arm of arbitrary bytes is kept beside it.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable

from hypothesis import strategies as st

# What real scripts are made of.
PIECES = [
    "1", "2", "WEBVTT", "NOTE x", "STYLE", "00:00:01,000 --> 00:00:02,000", "00:01.000 --> 00:02.000 line:40%",
    "00:00:06,1000 --> 00:00:07,5", "-->", "[Script Info]", "[Events]", "\\N", "{\\an8}", "{\\p1}m 0 0 l 10 10{\\p0}",
    "<v Alice>", "</v>", "<c.red>", "<00:00:01.500>", "<ruby>字<rt>じ</rt></ruby>", "<lang fr>", "<i>", "</b>",
    "<break time=\"500ms\"/>", "<strong>", "</strong>", "<whisper>", "<span id=x>", "<!-- c -->", "[h][ào]",
    "[hao4]", "[xyz4]", "[K][L][IY1][R]", "[AA5]", "[pause:0.5]", "[pause:x]", "[breath]", "[door slams]",
    "[Alba]", "(laughs)", "（笑）", "♪ la ♪", "♪", "[", "]", "<", ">", "\\", "&amp;", "&am&amp;", "&nbsp;", "&#x5b;",
    "&lt;v&gt;", "MAYA:", "旁白：", "他说：", "- ", "#3", "20000$", "84°F", "12.5%", "2024年3月5日", "第一回 灵根",
    "Chapter 3", "CHAPTER IV", "---", "# Heading", "| a | b |", "```", "![img](a.png)", "[link](http://x)",
    "\u00a0", "\u200b", "\ufeff", "\x00", "Hello there.", "你好，世界。", "こんにちは", "안녕하세요", "Bonjour à tous.",
    "Доброе утро", " ", "\t", "",
]  # fmt: skip
# Code points for arbitrary text: controls, ASCII, Latin, combining marks, CJK, kana, Hangul, RTL, private use,
# lone surrogates (written with surrogatepass, as a broken file has them), non-characters and astral planes.
_RANGES = [(0, 0x1F), (0x20, 0x7E), (0x80, 0x24F), (0x300, 0x36F), (0x590, 0x6FF), (0x2000, 0x206F),
           (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xD800, 0xDFFF), (0xE000, 0xF8FF),
           (0xFDD0, 0xFDEF), (0xFEFF, 0xFFFF), (0x1F300, 0x1F6FF), (0x10000, 0x10FFFF)]  # fmt: skip


def text(r: Draw, max_size: int) -> str:
    """Arbitrary text, mostly from one range at a time (as real text is), sometimes any code point."""
    n = r.randint(0, max_size)
    if r.random() < 0.3:
        return "".join(chr(r.randint(*r.choice(_RANGES))) for _ in range(n))
    low, high = r.choice(_RANGES)
    return "".join(chr(r.randint(low, high)) for _ in range(n))


class Draw(random.Random):
    """Random choices for one file, from a palette of pieces drawn for that file: some files are made of plain
    words only (and reach the end of the reader), others of nothing but markup or nonsense."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.palette = self.sample(PIECES, self.choice([1, 2, 3, 5, 8, 13, 21, len(PIECES)]))


def piece(r: Draw) -> str:
    return r.choice(r.palette) if r.random() < 0.9 else text(r, 12)


def phrase(r: Draw) -> str:
    return " ".join(piece(r) for _ in range(min(r.randint(0, 8), r.randint(0, 8))))  # short ones more often


def pieces_text(r: Draw) -> str:
    return "\n".join(piece(r) for _ in range(r.randint(0, 40)))


def _valid_stamp(r: Draw) -> tuple[int, int, int, int]:
    return r.randint(0, 2), r.randint(0, 59), r.randint(0, 59), r.randint(0, 999)


def stamp(r: Draw) -> str:
    """A timecode in one of the shapes found in the wild, many of them wrong."""
    h, m, s, ms = _valid_stamp(r)
    d = [str(r.randint(0, 99)) for _ in range(3)]
    return r.choice([
        f"{h:02d}:{m:02d}:{s:02d},{ms:03d}", f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}", f"{m:02d}:{s:02d}.{ms:03d}",
        f"{d[0]}:{d[1]}:{d[2]}{r.choice(',.:')}{r.randint(0, 12000)}", f"{d[0]}:{d[1]}.{ms:03d}", piece(r),
    ])  # fmt: skip


def timing(r: Draw, valid: bool) -> tuple[str, str, str, str]:
    """A cue's timing: a well-formed one (the end after the start, mostly) or any of the shapes found in the wild."""
    if valid:
        h, m, s, ms = _valid_stamp(r)
        start = (h * 3600 + m * 60 + s) * 1000 + ms
        end = start + r.choice([r.randint(1, 8000), 0, -r.randint(1, 500)])
        sep = r.choice([",", "."])
        return _clock(start, sep), " --> ", _clock(max(end, 0), sep), r.choice(["", " line:40%"])
    arrows, settings = [" --> ", "-->", " -> ", " --> "], ["", " line:40%", "align:start"]
    return stamp(r), r.choice(arrows), stamp(r), r.choice(settings)


def _clock(ms: int, sep: str) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def _body(r: Draw) -> str:
    return "\n".join(phrase(r) for _ in range(r.randint(0, 3)))


def srt(r: Draw) -> str:
    cues, valid = [], r.random() < 0.5
    for n in range(r.randint(0, 8)):
        start, arrow, end, _ = timing(r, valid)
        index = r.choice([str(n + 1), "", "x"])
        cues.append(f"{index}\n{start}{arrow}{end}\n{_body(r)}".lstrip("\n"))
    return r.choice(["\n\n", "\n", "\n\n\n"]).join(cues)


def vtt(r: Draw) -> str:
    blocks, valid = [r.choice(["WEBVTT", "WEBVTT - title", "", "WEBVTTX"])], r.random() < 0.5
    for _ in range(r.randint(0, 8)):
        kind = r.choice(["cue", "cue", "cue", "note", "style", "text"])
        if kind == "note":
            blocks.append("NOTE " + phrase(r))
        elif kind == "style":
            blocks.append("STYLE\n::cue { color: red }")
        elif kind == "text":
            blocks.append(phrase(r))
        else:
            start, arrow, end, settings = timing(r, valid)
            ident = r.choice(["", "intro\n", "1\n"])
            blocks.append(f"{ident}{start}{arrow}{end}{settings}\n{_body(r)}")
    return "\n\n".join(blocks)


_ASS_HEAD = (
    "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
    "SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
    "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
)
_STYLE = "Style: {name},Arial,20,{colour},&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1"
_ASS_TAGS = ["{\\i1}", "{\\p1}m 0 0 l 5 5{\\p0}", "\\N", "{\\p2}"]


def ass(r: Draw) -> str:
    styles = [
        _STYLE.format(
            name=r.choice(["Default", "Sign", ""]), colour=r.choice(["&H00FFFFFF", "&HFF&", "", "red", "&HFF"])
        )
        for _ in range(r.randint(0, 3))
    ]
    events = []
    for _ in range(r.randint(0, 8)):
        kind = r.choice(["Dialogue", "Dialogue", "Comment", "Dialog"])
        a, b = r.choice(["0:00:01.00", "0:00:02.50", "1:02:03.04", "x"]), r.choice(["0:00:03.00", "0:00:01.00"])
        name = r.choice(["", "Maya", "NTP", "林晓", "a,b"])
        parts = [phrase(r) if r.random() < 0.5 else r.choice(_ASS_TAGS) for _ in range(r.randint(0, 4))]
        events.append(f"{kind}: 0,{a},{b},Default,{name},0,0,0,,{''.join(parts)}")
    fmt = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"
    return _ASS_HEAD + "\n".join(styles) + "\n\n[Events]\n" + fmt + "\n" + "\n".join(events)


_COLUMNS = ["line_id", "id", "speaker", "character", "name", "text", "dialogue", "line", "sentence", "start",
            "tc_in", "end", "lang", "voice", "style", "notes", "mood", "", "Text"]  # fmt: skip
_CELLS = ["00:00:01:00", "00:00:02,500", "12.5", "en", "zh-CN", "english!", "../x", "a-1"]


def cell(r: Draw) -> str:
    return phrase(r) if r.random() < 0.5 else r.choice(_CELLS)


def sheet_rows(r: Draw) -> list[list[str]]:
    header = [r.choice(_COLUMNS) for _ in range(r.randint(1, 6))]
    rows = [[cell(r) for _ in range(r.randint(0, len(header) + 1))] for _ in range(r.randint(0, 8))]
    return [header, *rows]


def delimited(delimiter: str) -> Callable[[Draw], str]:
    def write(r: Draw) -> str:
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerows(sheet_rows(r))
        return out.getvalue()

    return write


def json_value(r: Draw, leaves: int = 12) -> object:
    kind = r.randrange(7) if leaves > 1 else r.randrange(5)
    if kind == 5:
        return [json_value(r, leaves // 4) for _ in range(r.randint(0, 4))]
    if kind == 6:
        return {r.choice(_COLUMNS): json_value(r, leaves // 4) for _ in range(r.randint(0, 4))}
    return [None, r.random() < 0.5, r.randint(-(2**40), 2**40), r.choice([r.uniform(-1e9, 1e9), float("nan"),
            float("inf"), -0.0]), phrase(r)][kind]  # fmt: skip


def line_object(r: Draw) -> dict[str, object]:
    return {r.choice(_COLUMNS): cell(r) if r.random() < 0.5 else json_value(r) for _ in range(r.randint(0, 5))}


def json_doc(r: Draw) -> str:
    shape = r.randrange(3)
    lines = [line_object(r) for _ in range(r.randint(0, 6))]
    value = lines if shape == 0 else {"lines": lines} if shape == 1 else json_value(r)
    return json.dumps(value, ensure_ascii=False)


def jsonl_doc(r: Draw) -> str:
    return "\n".join(json.dumps(line_object(r)) if r.random() < 0.5 else phrase(r) for _ in range(r.randint(0, 8)))


def _xlsx(r: Draw) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    for row in sheet_rows(r):
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def raw(r: Draw) -> bytes:
    """Arbitrary bytes, arbitrary text, or lines of real pieces."""
    kind = r.randrange(3)
    if kind == 0:
        return r.randbytes(r.randint(0, 3000))
    return _utf8(text(r, 1500) if kind == 1 else pieces_text(r))


_TEXT_SHAPES: dict[str, Callable[[Draw], str]] = {
    ".srt": srt, ".vtt": vtt, ".ass": ass, ".ssa": ass, ".csv": delimited(","), ".tsv": delimited("\t"),
    ".json": json_doc, ".jsonl": jsonl_doc, ".md": pieces_text, ".markdown": pieces_text, ".txt": pieces_text,
}  # fmt: skip
SUFFIXES = [*_TEXT_SHAPES, ".xlsx"]


def build(suffix: str, seed: int) -> bytes:
    """One input for ``suffix`` from ``seed``: mostly a file shaped like it, else raw bytes or text, or the shaped
    file as UTF-16."""
    r = Draw(seed)
    arm = r.randrange(5)
    if arm == 3:
        return raw(r)
    if suffix == ".xlsx":
        return _xlsx(r) if arm < 3 else raw(r)
    shaped = _utf8(_TEXT_SHAPES[suffix](r))
    return shaped if arm < 3 else shaped.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass")


def inputs(suffix: str) -> st.SearchStrategy[bytes]:
    """Hypothesis draws a seed (a failure is reported as the bytes it built); one example in six is Hypothesis's own
    arbitrary bytes."""
    seeded = st.integers(0, 2**64 - 1).map(lambda seed: build(suffix, seed))
    return st.one_of(seeded, seeded, seeded, seeded, seeded, st.binary(max_size=3000))
