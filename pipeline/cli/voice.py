"""``dubflow voice``: the whole chain on any script files, without Airflow, with a progress bar and a summary.

Exit codes: 0 every script published (or packaged, with ``--no-publish``) with no failed line; 1 a script was
refused, failed lines or published nothing; 2 a usage, storage or cluster error. ``dubflow demo`` is
``dubflow voice samples/* --project demo``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from pipeline import chain
from pipeline.chain import InputError
from pipeline.cli.common import console
from pipeline.compute.cluster import ClusterError, LazyClient
from pipeline.compute.fanout import LineResult
from pipeline.console import frame_table, lines_table, print_problems, qa_table, rows_table, run_table
from pipeline.digest import sha256_file
from pipeline.enrollment.record import with_enrollments
from pipeline.lexicon.load import LexiconError, store_sample_lexicons
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
from pipeline.voices.catalog import Catalog, load_catalog

log = logging.getLogger(__name__)
SUMMARY_COLUMNS = ("script", "lines", "status", "synthesized", "cached", "failed", "passed", "quarantined", "version")


class BarWatcher(chain.Watcher):
    """One bar per script: the stage, lines done of total, synthesized / cached / checked / failed, the ETA."""

    def __init__(self, name: str, lines_dir: Path | None = None):
        self.name, self.lines_dir = name, lines_dir
        self.counts = {"synthesized": 0, "cached": 0, "failed": 0, "checked": 0, "quarantined": 0}
        bar = (TextColumn("{task.description}"), TextColumn("[bold]{task.fields[stage]:<10}"), BarColumn())
        made = TextColumn("[green]{task.fields[synthesized]} new[/] [cyan]{task.fields[cached]} cached[/]")
        done = TextColumn("[blue]{task.fields[checked]} checked[/] [red]{task.fields[failed]} failed[/]")
        columns = (*bar, MofNCompleteColumn(), made, done, TextColumn("ETA"), TimeRemainingColumn())
        self.progress = Progress(*columns, console=console, transient=not console.is_terminal)
        self.task: TaskID | None = None  # once the script is ingested

    def __enter__(self) -> BarWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:  # started
            self.progress.stop()

    def ingested(self, ingested: IngestResult) -> None:
        console.print(lines_table(ingested))
        print_problems(console, ingested.problems)
        if not ingested.ok:
            return
        if self.lines_dir is not None:
            write_lines(ingested, self.lines_dir / f"{ingested.script_id}.lines.parquet")
        self.progress.start()
        self.task = self.progress.add_task(ingested.script_id, total=len(ingested.lines), stage="queued", **self.counts)

    def stage(self, name: str) -> None:
        if self.task is None:
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
        console.print(f"{self.name}: waiting for {holder.describe()}, which is voicing it", highlight=False)

    def _advance(self) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, **self.counts)


@dataclass
class Voiced:
    path: Path
    outcome: chain.Outcome | None  # None: not voiced (the error says why)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome.ok


@dataclass
class Batch:
    """One ``dubflow voice`` call: every script goes to one project with the same options."""

    settings: Settings
    project: str
    profile: str | None = None
    publish: bool = True
    out: Path | None = None  # keep <out>/lines/ and <out>/delivery/
    force: bool = False
    samples: Path | None = None  # dubflow demo's samples folder: its lexicon/ files are stored with the project

    def _prepare_demo(self, store: ObjectStore, catalog: Catalog) -> bool:
        """dubflow demo, as make demo does: the samples' lexicon goes with the project and its cast is enrolled."""
        from pipeline.orchestrate import enroll_voices

        try:
            for key in store_sample_lexicons(store, self.project, self.samples or Path()):
                console.print(f"lexicon: s3://{store.bucket('inbox')}/{key}", highlight=False)
        except (LexiconError, StorageError) as exc:
            console.print(f"[red]lexicon: {escape(str(exc))}[/red]")
            return False
        if not self.settings.qa.similarity:  # the demo enrolls its cast for the speaker check alone
            console.print("voices not enrolled: qa.similarity is off", highlight=False)
            return True
        try:
            with console.status("enrolling the cast's voices"):
                enrolled = enroll_voices(self.settings, catalog.cast_and_recordings(self.project))
        except (InputError, StorageError) as exc:
            console.print(f"[red]enrollment: {escape(str(exc))}[/red]")
            return False
        news, kept = ", ".join(enrolled["enrolled"]) or "none", len(enrolled["kept"])
        console.print(f"voices enrolled: {news} ({kept} already enrolled)", highlight=False)
        return True

    def run(self, files: list[Path]) -> int:
        """Voice each file on its own (one that cannot be voiced never costs the others); returns the exit code."""
        catalog = load_catalog(self.settings.voices_file)
        print_problems(console, catalog.problems)
        if any(p.severity == "error" for p in catalog.problems):
            return 1
        try:
            store, server = connect_store(self.settings)
        except StorageError as exc:
            console.print(f"[red]object store: {escape(str(exc))}[/red]")
            return 2
        if server is not None:
            console.print(f"local S3 server {server.describe()} (stop it with `dubflow s3 stop`)", highlight=False)
        if self.samples is not None and not self._prepare_demo(store, catalog):
            return 1
        try:
            catalog = with_enrollments(catalog, store)
        except StorageError as exc:
            console.print(f"[red]enrolled voices: {escape(str(exc))}[/red]")
            return 2
        run_id = "voice-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        kept = self.out / "delivery" if self.out else None
        options = chain.Options(run_id, profile=self.profile, force=self.force, publish=self.publish, delivery_dir=kept)
        with LazyClient(self.settings.dask) as client:
            voice = partial(chain.voice, self.settings, options=options, store=store, catalog=catalog, client=client)
            done = [self._voice_one(path, store, voice) for path in files]
            cluster = "a local Dask cluster" if client.started else "no cluster (every clip was cached)"
        console.print(_summary_table(done))
        if self.publish:
            try:
                versions = summarize(read_catalog(store, self.project))
            except StorageError as exc:
                console.print(f"[red]catalog: {escape(str(exc))}[/red]")
                return 1
            where = f"catalog: s3://{store.bucket('assets')}/catalog/ (dubflow catalog list)"
            console.print(frame_table(versions, where))
        failed = sum(not v.ok for v in done)
        console.print(f"{len(files)} script(s) with {cluster}: {len(files) - failed} ok, {failed} not", highlight=False)
        return 1 if failed else 0

    def _voice_one(self, path: Path, store: ObjectStore, voice: Callable[..., chain.Outcome]) -> Voiced:
        try:
            source: dict[str, Any] = {"sha256": sha256_file(path)}
            if self.publish:
                source["inbox_key"] = put_script(store, path, self.project).key
                console.print(f"inbox: s3://{store.bucket('inbox')}/{source['inbox_key']}", highlight=False)
            script = chain.Script(path.name, path.read_bytes(), self.project, source)
            with BarWatcher(path.name, lines_dir=self.out / "lines" if self.out else None) as watcher:
                outcome = voice(script, watcher=watcher)
        except (StorageError, ClusterError, chain.InputError, OSError) as exc:
            console.print(f"[red]{escape(path.name)}: not voiced: {escape(str(exc))}[/red]")
            return Voiced(path, None, str(exc))
        except Exception as exc:  # a bug of ours: say what, and go on with the next script
            log.exception("voice: %s failed", path)
            console.print(f"[red]{escape(path.name)}: failed ({type(exc).__name__}: {escape(str(exc))})[/red]")
            return Voiced(path, None, f"{type(exc).__name__}: {exc}")
        _report(outcome)
        return Voiced(path, outcome)


def _report(outcome: chain.Outcome) -> None:
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
    table = rows_table("scripts", SUMMARY_COLUMNS)
    for item in done:
        outcome = item.outcome
        if outcome is None:
            table.add_row(item.path.name, "-", f"[red]not voiced: {escape(item.error or '')}[/red]", *["-"] * 6)
            continue
        report, qa = outcome.report, outcome.package.qa.counts() if outcome.package else None
        tallies = [str(report.count(s)) for s in ("synthesized", "cached", "failed")] if report else ["-"] * 3
        checked = [str(qa["pass"] + qa["warn"]), str(qa["quarantined"])] if qa else ["-"] * 2
        status = outcome.status if item.ok else f"[red]{outcome.status}[/red]"
        version = f"v{outcome.published.version}" if outcome.published else "-"
        name, lines = outcome.ingested.script_id or item.path.name, str(len(outcome.ingested.lines))
        table.add_row(name, lines, status, *tallies, *checked, version)
    return table
