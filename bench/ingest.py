"""Ingestion throughput per format, what spelling out numbers (``normalize``) costs, and real-world shapes.

Prints two tables: lines/s for each format on the same synthetic 2,000-line script, with the ratio of each run to
the CSV run without normalization (the baseline, measured in the same invocation); and seconds for the shapes real
files come in (a 1,300-cue hearing-impaired SRT, a 15,000-line plain-text book, a drawing-heavy 40 KB ASS), without
normalization, the first call in this process (language models loading) and the median of the repeats after it.
Not a test: no asserts.

    .venv/bin/python bench/ingest.py [--lines 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time

from openpyxl import Workbook
from rich.console import Console
from rich.table import Table

from pipeline.scripts.ingest import ingest_bytes
from pipeline.settings import Settings
from pipeline.text.normalize import _spell_out

EN = "Line {i}: we took the 6:15 ferry, paid $12.50 and [breath] waited <break time='300ms'/> for {i} minutes."
ZH = "第{i}句：我们坐了下午3:30的船，票价12.5元，她[h][ào]奇地等了{i}分钟。"


def _rows(n: int) -> list[dict[str, object]]:
    return [
        {
            "line_id": f"l{i}",
            "speaker": "MAYA" if i % 2 else "THEO",
            "text": (EN if i % 2 else ZH).format(i=i),
            "start": i * 3.0,
            "end": i * 3.0 + 2.5,
        }
        for i in range(n)
    ]


def _srt(rows: list[dict[str, object]]) -> bytes:
    def stamp(s: float) -> str:
        ms = round(s * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    cues = [
        f"{i + 1}\n{stamp(r['start'])} --> {stamp(r['end'])}\n{r['speaker']}: {r['text']}\n" for i, r in enumerate(rows)
    ]
    return "\n".join(cues).encode()


def _csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    out.write("line_id,speaker,text,start,end\n")
    for r in rows:
        out.write(f'{r["line_id"]},{r["speaker"]},"{r["text"]}",{r["start"]},{r["end"]}\n')
    return out.getvalue().encode()


def _xlsx(rows: list[dict[str, object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for r in rows:
        sheet.append(list(r.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _markdown(rows: list[dict[str, object]]) -> bytes:
    paragraphs = [" ".join(str(r["text"]) for r in rows[i : i + 5]) for i in range(0, len(rows), 5)]
    return "\n\n".join(f"# Chapter {i}\n\n{p}" if i % 20 == 0 else p for i, p in enumerate(paragraphs)).encode()


SENTENCES = [
    "The tide came in before anyone on the island had finished breakfast.",
    "She folded the letter twice and put it back in the drawer without a word.",
    "Nobody remembered who had built the lighthouse, or why it stood so far from the harbour.",
    "He said the ferry would be late again, and for once he was right.",
    "Rain had kept the children inside for three days running.",
]


def _hearing_impaired_srt(cues: int) -> bytes:
    """Cues the way broadcast SDH files are written: speaker labels, sound descriptions, music, italics."""
    pieces = [
        "MAYA: {s}",
        "[door slams]\n{s}",
        "- THEO: {s}\n- MAYA: Yes.",
        "<i>{s}</i>",
        "♪ la la la ♪",
        "(laughs) {s}",
    ]
    out = []
    for i in range(cues):
        start = i * 2.5
        text = pieces[i % len(pieces)].format(s=SENTENCES[i % len(SENTENCES)]).replace("\\n", "\n")
        out.append(f"{i + 1}\n{_stamp(start)} --> {_stamp(start + 2.2)}\n{text}\n")
    return "\n".join(out).encode()


def _stamp(s: float) -> str:
    ms = round(s * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _book(lines: int) -> bytes:
    """A plain-text novel: chapter headings, paragraphs wrapped at 72 columns, blank lines between paragraphs."""
    out: list[str] = []
    chapter = 0
    while len(out) < lines:
        if len(out) % 600 == 0:
            chapter += 1
            out += [f"CHAPTER {chapter}", ""]
        paragraph = " ".join(SENTENCES[(len(out) + k) % len(SENTENCES)] for k in range(4))
        words, line = paragraph.split(), ""
        for word in words:
            if len(line) + len(word) > 72:
                out.append(line.strip())
                line = ""
            line += word + " "
        out += [line.strip(), ""]
    return "\n".join(out[:lines]).encode()


def _drawings_ass(target_bytes: int) -> bytes:
    """Typesetting as fansub ASS files have it: signs drawn with vector shapes between the dialogue lines."""
    head = (
        "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
        "SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
        "Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\nStyle: Default,Arial,"
        "48,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    shape = " ".join(f"l {(k * 37) % 1900} {(k * 53) % 1000}" for k in range(400))
    events, i = [], 0
    while len(head) + sum(map(len, events)) < target_bytes:
        events.append(f"Dialogue: 0,0:00:{i % 60:02d}.00,0:00:{i % 60:02d}.90,Default,Maya,0,0,0,,{SENTENCES[i % 5]}\n")
        events.append(
            f"Dialogue: 1,0:00:{i % 60:02d}.00,0:00:{i % 60:02d}.90,Default,,0,0,0,,{{\\p1}}m 0 0 {shape}{{\\p0}}\n"
        )
        i += 1
    return (head + "".join(events)).encode()


def _time(data: bytes, name: str, normalize: bool, repeat: int) -> tuple[float, int]:
    settings = Settings().ingest.model_copy(update={"normalize": normalize, "overlap": "warning"})
    ingest_bytes(data, name, settings)  # warm caches (language models, wetext FSTs) outside the timing
    times, count = [], 0
    for _ in range(repeat):
        _spell_out.cache_clear()  # each run spells its numbers out anew, as a fresh process would
        start = time.perf_counter()
        result = ingest_bytes(data, name, settings)
        times.append(time.perf_counter() - start)
        count = len(result.lines)
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = _rows(args.lines)
    inputs = {
        "script.csv": _csv(rows),
        "script.srt": _srt(rows),
        "script.xlsx": _xlsx(rows),
        "script.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode(),
        "script.md": _markdown(rows),
    }
    baseline, _ = _time(inputs["script.csv"], "script.csv", normalize=False, repeat=args.repeat)
    table = Table(title=f"ingest, {args.lines} source lines, median of {args.repeat}")
    for column in ("format", "normalize", "lines out", "seconds", "lines/s", "× csv baseline"):
        table.add_column(column, justify="right")
    for name, data in inputs.items():
        for normalize in (False, True):
            seconds, count = _time(data, name, normalize, args.repeat)
            table.add_row(
                name.split(".")[1],
                str(normalize),
                str(count),
                f"{seconds:.3f}",
                f"{count / seconds:,.0f}",
                f"{seconds / baseline:.2f}",
            )
    Console().print(table)

    shapes = {
        "1,300-cue hearing-impaired SRT": ("sdh.srt", _hearing_impaired_srt(1300)),
        "15,000-line plain-text book": ("book.txt", _book(15_000)),
        "drawing-heavy ASS (40 KB)": ("signs.ass", _drawings_ass(40_000)),
    }
    settings = Settings().ingest.model_copy(update={"normalize": False})
    real = Table(title=f"real-world shapes, no normalization, median of {args.repeat} after the first call")
    for column in ("input", "bytes", "lines out", "first call s", "seconds", "target"):
        real.add_column(column, justify="right")
    for label, (name, data) in shapes.items():
        start = time.perf_counter()
        count = len(ingest_bytes(data, name, settings).lines)
        first = time.perf_counter() - start
        seconds, _ = _time(data, name, normalize=False, repeat=args.repeat)
        real.add_row(label, f"{len(data):,}", str(count), f"{first:.2f}", f"{seconds:.2f}", "≤ 2 s")
    Console().print(real)


if __name__ == "__main__":
    main()
