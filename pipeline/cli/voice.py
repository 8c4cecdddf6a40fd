"""``dubflow voice``: the whole chain on any script files, without Airflow, with a progress bar and a summary.

Exit codes: 0 every script published (or packaged, with ``--no-publish``) with no failed line; 1 a script was
refused, failed lines or published nothing; 2 a usage, storage or cluster error. ``dubflow demo`` is
``dubflow voice samples/* --project demo``.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from pipeline import chain
from pipeline.compute.cluster import ClusterError, LazyClient
from pipeline.compute.fanout import LineResult
from pipeline.console import frame_table, lines_table, print_problems, qa_table, run_table
from pipeline.digest import sha256_file
from pipeline.qa.results import LineQa
from pipeline.scripts.model import IngestResult
from pipeline.scripts.table import write_lines
from pipeline.settings import Settings
from pipeline.storage.asset_catalog import read_catalog, summarize
from pipeline.storage.connect import connect_store
from pipeline.storage.errors import StorageError
from pipeline.storage.inbox import put_script
from pipeline.storage.locks import Holder
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import load_catalog

log = logging.getLogger(__name__)


class BarWatcher(chain.Watcher):
    """One bar per script: the stage, lines done of total, synthesized / cached / checked / failed, the ETA."""

    def __init__(self, console: Console, name: str, lines_dir: Path | None = None):
        self.console, self.name, self.lines_dir = console, name, lines_dir
        self.counts = {"synthesized": 0, "cached": 0, "failed": 0, "checked": 0, "quarantined": 0}
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self._stack = ExitStack()

    def __enter__(self) -> BarWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def ingested(self, ingested: IngestResult) -> None:
        self.console.print(lines_table(ingested))
        print_problems(self.console, ingested.problems)
        if not ingested.ok:
            return
        if self.lines_dir is not None:
            write_lines(ingested, self.lines_dir / f"{ingested.script_id}.lines.parquet")
        columns = (TextColumn("{task.description}"), TextColumn("[bold]{task.fields[stage]:<10}"), BarColumn(),
                   MofNCompleteColumn(),
                   TextColumn("[green]{task.fields[synthesized]} new[/] [cyan]{task.fields[cached]} cached[/] "
                              "[blue]{task.fields[checked]} checked[/] [red]{task.fields[failed]} failed[/]"),
                   TextColumn("ETA"), TimeRemainingColumn())  # fmt: skip
        self.progress = self._stack.enter_context(
            Progress(*columns, console=self.console, transient=not self.console.is_terminal)
        )
        self.task = self.progress.add_task(ingested.script_id, total=len(ingested.lines), stage="queued", **self.counts)

    def stage(self, name: str) -> None:
        if self.progress is None or self.task is None:
            return
        if name == "finish":  # the bar starts again: lines checked of total
            self.progress.reset(self.task, total=self.progress.tasks[0].total, stage=name, **self.counts)
        else:
            self.progress.update(self.task, stage=name)

    def synthesized(self, result: LineResult) -> None:
        self.counts[result.status] += 1
        self._advance()

    def checked(self, line_qa: LineQa) -> None:
        self.counts["checked"] += 1
        self.counts["quarantined"] += line_qa.quarantined
        self._advance()

    def waiting(self, holder: Holder) -> None:
        self.console.print(f"{self.name}: waiting for {holder.describe()}, which is voicing it", highlight=False)

    def _advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=1, **self.counts)


@dataclass
class Voiced:
    path: Path
    outcome: chain.Outcome | None  # None: not voiced (the error says why)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome.ok


def voice_files(settings: Settings, files: list[Path], console: Console, *, project: str, profile: str | None = None,
                publish: bool = True, out: Path | None = None, force: bool = False) -> int:  # fmt: skip
    """Voice each file on its own (one that cannot be voiced never costs the others); returns the exit code."""
    catalog = load_catalog(settings.voices_file)
    print_problems(console, catalog.problems)
    if any(p.severity == "error" for p in catalog.problems):
        return 1
    try:
        store, server = connect_store(settings)
    except StorageError as exc:
        console.print(f"[red]object store: {escape(str(exc))}[/red]")
        return 2
    if server is not None:
        console.print(f"local S3 server {server.describe()} (stop it with `dubflow s3 stop`)", highlight=False)
    run_id = "voice-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    done: list[Voiced] = []
    with LazyClient(settings.dask) as client:
        for path in files:
            done.append(_voice_one(settings, path, console, store, catalog, client, run_id, project, profile,
                                   publish, out, force))  # fmt: skip
        cluster = "a local Dask cluster" if client.started else "no cluster (every clip was cached)"
    console.print(_summary_table(done))
    if publish:
        try:
            console.print(
                frame_table(
                    summarize(read_catalog(store, project)),
                    f"catalog: s3://{store.bucket('assets')}/catalog/ (dubflow catalog list)",
                )
            )
        except StorageError as exc:
            console.print(f"[red]catalog: {escape(str(exc))}[/red]")
            return 1
    failed = sum(not v.ok for v in done)
    console.print(f"{len(files)} script(s) with {cluster}: {len(files) - failed} ok, {failed} not", highlight=False)
    return 1 if failed else 0


def _voice_one(settings: Settings, path: Path, console: Console, store: ObjectStore, catalog: Any, client: Any,
               run_id: str, project: str, profile: str | None, publish: bool, out: Path | None,
               force: bool) -> Voiced:  # fmt: skip
    try:
        source: dict[str, Any] = {"sha256": sha256_file(path)}
        if publish:
            source["inbox_key"] = put_script(store, path, project).key
            console.print(f"inbox: s3://{store.bucket('inbox')}/{source['inbox_key']}", highlight=False)
        script = chain.Script(path.name, path.read_bytes(), project, source)
        options = chain.Options(run_id, profile=profile, force=force, publish=publish,
                                delivery_dir=out / "delivery" if out else None)  # fmt: skip
        with BarWatcher(console, path.name, lines_dir=out / "lines" if out else None) as watcher:
            outcome = chain.voice(settings, script, options, store=store, catalog=catalog, client=client,
                                  watcher=watcher)  # fmt: skip
    except (StorageError, ClusterError, chain.InputError, OSError) as exc:
        console.print(f"[red]{escape(path.name)}: not voiced: {escape(str(exc))}[/red]")
        return Voiced(path, None, str(exc))
    except Exception as exc:  # a bug of ours: say what, and go on with the next script
        log.exception("voice: %s failed", path)
        console.print(f"[red]{escape(path.name)}: failed ({type(exc).__name__}: {escape(str(exc))})[/red]")
        return Voiced(path, None, f"{type(exc).__name__}: {exc}")
    _report(console, outcome, out)
    return Voiced(path, outcome)


def _report(console: Console, outcome: chain.Outcome, out: Path | None) -> None:
    ingested = outcome.ingested
    if outcome.report is None:
        console.print(f"[red]✗ {escape(outcome.script.name)}: {len(ingested.errors)} error(s); not voiced[/red]")
        return
    console.print(run_table(outcome.report, f"{ingested.script_id}: {outcome.report.summary()}"))
    if outcome.package is not None:
        console.print(qa_table(outcome.package.qa))
    if outcome.published is not None:
        console.print(f"published: {outcome.published.describe()}", highlight=False)
    elif outcome.status == "packaged":
        console.print(f"{ingested.script_id}: packaged, not published (--no-publish)", highlight=False)
    else:
        console.print(f"[red]{ingested.script_id}: {outcome.status}[/red]")


def _summary_table(done: list[Voiced]) -> Table:
    table = Table(title="scripts")
    for column in ("script", "lines", "status", "synthesized", "cached", "failed", "passed", "quarantined", "version"):
        table.add_column(column)
    for item in done:
        outcome = item.outcome
        if outcome is None:
            table.add_row(item.path.name, "-", f"[red]not voiced: {escape(item.error or '')}[/red]", *["-"] * 6)
            continue
        report, pkg = outcome.report, outcome.package
        counts = pkg.qa.counts() if pkg else {}
        status = outcome.status if item.ok else f"[red]{outcome.status}[/red]"
        table.add_row(
            outcome.ingested.script_id or item.path.name, str(len(outcome.ingested.lines)), status,
            *(str(report.count(s)) if report else "-" for s in ("synthesized", "cached", "failed")),
            str(counts.get("passed", 0) + counts.get("warned", 0)) if pkg else "-",
            str(counts.get("quarantined", 0)) if pkg else "-",
            f"v{outcome.published.version}" if outcome.published else "-",
        )  # fmt: skip
    return table
