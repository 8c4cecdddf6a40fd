"""Terminal views (rich) of what the library produces; the CLI prints these, the library never prints."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.scripts.model import IngestResult, Line, Problem

if TYPE_CHECKING:
    from pipeline.compute.fanout import RunReport
    from pipeline.qa.results import ScriptQa


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes):02d}:{seconds:06.3f}"


def _number(value: float | None, spec: str = ".1f") -> str:
    return "" if value is None else format(value, spec)


def rows_table(title: str, columns: Iterable[str], rows: Iterable[Iterable[str | Text | None]] = ()) -> Table:
    """A table titled on the left with one header per column (None: an empty cell): every listing looks alike."""
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*row)
    return table


def lines_table(result: IngestResult, limit: int | None = None) -> Table:
    """One row per line; columns the script does not use (timing, voices, chapters …) are left out."""
    lines = result.lines if limit is None else result.lines[:limit]
    title = f"{result.script_id}  ({result.format}, {len(result.lines)} lines, {result.encoding or 'binary'})"
    table = Table(title=title, title_justify="left")
    columns: list[tuple[str, str, Callable[[Line], str]]] = [
        ("line_id", "cyan", lambda ln: ln.line_id),
        ("src", "dim", lambda ln: str(ln.source_line)),
        ("speaker", "magenta", lambda ln: ln.speaker or ""),
        ("chapter", "magenta", lambda ln: ln.chapter or ""),
        ("lang", "", lambda ln: ln.lang),
        ("start", "", lambda ln: _seconds(ln.start)),
        ("end", "", lambda ln: _seconds(ln.end)),
        ("voice", "green", lambda ln: ln.voice or ""),
        ("style", "yellow", lambda ln: ln.style or ""),
        ("text", "", lambda ln: ln.text),
        ("pause", "dim", lambda ln: f"{ln.pause_after:g}" if ln.pause_after else ""),
    ]
    used = [(name, style, get) for name, style, get in columns if name == "text" or any(get(ln) for ln in lines)]
    for name, style, _ in used:
        fixed = name in ("line_id", "src", "lang", "start", "end")
        table.add_column(name, style=style, no_wrap=fixed, ratio=4 if name == "text" else None, overflow="fold")
    for line in lines:
        table.add_row(*(Text(get(line)) for _, _, get in used))
    if limit is not None and len(result.lines) > limit:
        table.caption = f"… {len(result.lines) - limit} more lines"
    return table


def make_console(stderr: bool = False) -> Console:
    """Wide enough for a lines table when output goes to a log instead of a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def print_problems(console: Console, problems: Iterable[Problem]) -> None:
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        console.print(str(problem), style=colour, markup=False, highlight=False, soft_wrap=True)


def frame_table(frame: pd.DataFrame, title: str, columns: list[str] | None = None) -> Table:
    """A pandas frame as a rich table (catalog listings); floats to 2 places, timestamps to the second."""
    names = columns or [str(c) for c in frame.columns]
    return rows_table(title, names, (map(_cell, row) for row in frame[names].itertuples(index=False)))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return "" if value is None else str(value)


def run_table(report: RunReport, title: str) -> Table:
    """One row per line of a fan-out: status, engine, worker, duration, RTF, error."""
    table = rows_table(title, ("line_id", "status", "engine", "worker", "seconds", "RTF", "attempts", "problem"))
    for result in report.results:
        clip = result.clip
        seconds = f"{clip.duration:.2f}" if clip and clip.duration else ""
        rtf = f"{clip.synth_seconds / clip.duration:.3f}" if clip and clip.duration and clip.synth_seconds else ""
        status = Text(result.status, style={"failed": "red", "cached": "cyan"}.get(result.status, "green"))
        problem = result.error or ("; ".join(clip.warnings[:2]) if clip else "")
        where = (clip.engine or "", clip.worker.removeprefix("tcp://")) if clip else ("", "")
        table.add_row(result.line.line_id, status, *where, seconds, rtf, str(result.attempts), problem)
    return table


def qa_table(qa: ScriptQa) -> Table:
    """The QA gate's per-line verdicts with the failed or warned checks spelled out."""
    summary = ", ".join(f"{n} {k}" for k, n in qa.counts().items() if n)
    columns = ("line_id", "verdict", "attempts", "LUFS", "dBTP", "stretch", "problems")
    table = rows_table(f"{qa.script_id}: QA ({qa.profile}) {summary}", columns)
    colours = {"pass": "green", "warn": "yellow", "fail": "red", "not-checked": "dim"}
    for line in qa.lines:
        bad = [c for c in line.checks if c.verdict in ("fail", "warn")]
        problems = "; ".join(f"{c.name}: {_number(c.value, '')} {c.unit} ({c.threshold})".strip() for c in bad)
        verdict = Text("quarantined" if line.quarantined else line.verdict, style=colours.get(line.verdict, ""))
        levels = _number(line.loudness), _number(line.true_peak), f"{line.stretch:.2f}"
        table.add_row(line.line_id, verdict, str(line.attempts), *levels, problems)
    return table
