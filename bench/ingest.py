"""Ingestion throughput per format, and what spelling out numbers (``normalize``) costs.

Prints a table: lines/s for each format on the same synthetic 2,000-line script, and the ratio of each run to
the CSV run without normalization (the baseline, measured in the same invocation). Not a test: no asserts.

    .venv/bin/python bench/ingest.py [--lines 2000]
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


def _time(data: bytes, name: str, normalize: bool, repeat: int) -> tuple[float, int]:
    settings = Settings().ingest.model_copy(update={"normalize": normalize, "overlap": "warning"})
    ingest_bytes(data, name, settings)  # warm caches (pysbd, wetext FSTs) outside the timing
    times, count = [], 0
    for _ in range(repeat):
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


if __name__ == "__main__":
    main()
