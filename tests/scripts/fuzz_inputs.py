"""Hypothesis strategies for script files: raw bytes and text, and files built to each format's structure with
fuzzed content, so that generated inputs reach the cue, row and markup code instead of stopping at the first check.
Shared by tests/scripts/test_fuzz.py and bench/fuzz_ingest.py."""

from __future__ import annotations

import csv
import io
import json

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
piece = st.one_of(st.sampled_from(PIECES), st.text(max_size=12))
phrase = st.lists(piece, max_size=8).map(" ".join)
pieces_text = st.lists(piece, max_size=40).map("\n".join)

_digits = st.integers(0, 99).map(str)
_valid_stamp = st.tuples(st.integers(0, 2), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999))
stamp = st.one_of(
    _valid_stamp.map(lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d},{t[3]:03d}"),
    _valid_stamp.map(lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}.{t[3]:03d}"),
    _valid_stamp.map(lambda t: f"{t[1]:02d}:{t[2]:02d}.{t[3]:03d}"),
    st.tuples(_digits, _digits, _digits, st.sampled_from([",", ".", ":"]), st.integers(0, 12000)).map(
        lambda t: f"{t[0]}:{t[1]}:{t[2]}{t[3]}{t[4]}"
    ),
    st.tuples(_digits, _digits, st.integers(0, 999)).map(lambda t: f"{t[0]}:{t[1]}.{t[2]:03d}"),
    piece,
)
valid_timing = st.tuples(
    stamp.filter(lambda s: s.count(":") >= 1 and s[:1].isdigit() and len(s) >= 9),
    st.just(" --> "),
    _valid_stamp.map(lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d},{t[3]:03d}"),
    st.sampled_from(["", " line:40%"]),
)
timing = st.tuples(
    stamp, st.sampled_from([" --> ", "-->", " -> ", " --> "]), stamp, st.sampled_from(["", " line:40%", "align:start"])
)


@st.composite
def srt(draw) -> str:
    cues = []
    timings = valid_timing if draw(st.booleans()) else timing
    for n in range(draw(st.integers(0, 8))):
        start, arrow, end, _ = draw(timings)
        body = "\n".join(draw(st.lists(phrase, max_size=3)))
        index = draw(st.sampled_from([str(n + 1), "", "x"]))
        cues.append(f"{index}\n{start}{arrow}{end}\n{body}".lstrip("\n"))
    return draw(st.sampled_from(["\n\n", "\n", "\n\n\n"])).join(cues)


@st.composite
def vtt(draw) -> str:
    blocks = [draw(st.sampled_from(["WEBVTT", "WEBVTT - title", "", "WEBVTTX"]))]
    timings = valid_timing if draw(st.booleans()) else timing
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["cue", "cue", "cue", "note", "style", "text"]))
        if kind == "note":
            blocks.append("NOTE " + draw(phrase))
        elif kind == "style":
            blocks.append("STYLE\n::cue { color: red }")
        elif kind == "text":
            blocks.append(draw(phrase))
        else:
            start, arrow, end, settings = draw(timings)
            ident = draw(st.sampled_from(["", "intro\n", "1\n"]))
            body = "\n".join(draw(st.lists(phrase, max_size=3)))
            blocks.append(f"{ident}{start}{arrow}{end}{settings}\n{body}")
    return "\n\n".join(blocks)


_ASS_HEAD = (
    "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
    "SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
    "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
)
_STYLE = "Style: {name},Arial,20,{colour},&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1"


@st.composite
def ass(draw) -> str:
    styles = [
        _STYLE.format(
            name=draw(st.sampled_from(["Default", "Sign", ""])),
            colour=draw(st.sampled_from(["&H00FFFFFF", "&HFF&", "", "red", "&HFF"])),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    events = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["Dialogue", "Dialogue", "Comment", "Dialog"]))
        a, b = (
            draw(st.sampled_from(["0:00:01.00", "0:00:02.50", "1:02:03.04", "x"])),
            draw(st.sampled_from(["0:00:03.00", "0:00:01.00"])),
        )
        name = draw(st.sampled_from(["", "Maya", "NTP", "林晓", "a,b"]))
        text = draw(
            st.lists(
                st.one_of(phrase, st.sampled_from(["{\\i1}", "{\\p1}m 0 0 l 5 5{\\p0}", "\\N", "{\\p2}"])), max_size=4
            )
        )
        events.append(f"{kind}: 0,{a},{b},Default,{name},0,0,0,,{''.join(text)}")
    fmt = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"
    return _ASS_HEAD + "\n".join(styles) + "\n\n[Events]\n" + fmt + "\n" + "\n".join(events)


_COLUMNS = ["line_id", "id", "speaker", "character", "name", "text", "dialogue", "line", "sentence", "start",
            "tc_in", "end", "lang", "voice", "style", "notes", "mood", "", "Text"]  # fmt: skip
cell = st.one_of(
    phrase, st.sampled_from(["00:00:01:00", "00:00:02,500", "12.5", "en", "zh-CN", "english!", "../x", "a-1"])
)


@st.composite
def sheet_rows(draw) -> list[list[str]]:
    header = draw(st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=8))
    return [header, *rows]


def delimited(delimiter: str):
    def write(rows: list[list[str]]) -> str:
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerows(rows)
        return out.getvalue()

    return sheet_rows().map(write)


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), phrase),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_COLUMNS), inner, max_size=4)),
    max_leaves=12,
)
line_object = st.dictionaries(st.sampled_from(_COLUMNS), st.one_of(cell, json_value), max_size=5)
json_doc = st.one_of(
    st.lists(line_object, max_size=6), st.fixed_dictionaries({"lines": st.lists(line_object, max_size=6)}), json_value
).map(lambda v: json.dumps(v, ensure_ascii=False))
jsonl_doc = st.lists(st.one_of(line_object.map(json.dumps), phrase), max_size=8).map("\n".join)


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


raw = st.one_of(st.binary(max_size=3000), st.text(max_size=1500).map(_utf8), pieces_text.map(_utf8))
STRUCTURED = {
    ".srt": srt().map(_utf8),
    ".vtt": vtt().map(_utf8),
    ".ass": ass().map(_utf8),
    ".ssa": ass().map(_utf8),
    ".csv": delimited(",").map(_utf8),
    ".tsv": delimited("\t").map(_utf8),
    ".json": json_doc.map(_utf8),
    ".jsonl": jsonl_doc.map(_utf8),
    ".xlsx": sheet_rows().map(_xlsx),
    ".md": pieces_text.map(_utf8),
    ".markdown": pieces_text.map(_utf8),
    ".txt": pieces_text.map(_utf8),
}


def inputs(suffix: str) -> st.SearchStrategy[bytes]:
    """Mostly files shaped like ``suffix``, and raw bytes and text, some of them as UTF-16."""
    shaped = STRUCTURED[suffix]
    return st.one_of(
        shaped,
        shaped,
        shaped,
        raw,
        shaped.map(lambda b: b.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass"))
        if suffix != ".xlsx"
        else raw,
    )
