"""``dubflow s3 | inbox | catalog``: the embedded S3 server, the script inbox and the published-asset catalog."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline.cli.common import ConfigOpt, console, err, fail, failing, settings_or_exit, store_or_exit
from pipeline.console import frame_table
from pipeline.ids import InvalidIdError
from pipeline.storage.errors import StorageError

s3_app = typer.Typer(help="The embedded S3 server (SeaweedFS on 127.0.0.1) and bucket set-up.", no_args_is_help=True)
inbox_app = typer.Typer(help="Scripts waiting to be voiced: inbox/{project}/{date}/.", no_args_is_help=True)
catalog_app = typer.Typer(help="The Parquet catalog of published assets.", no_args_is_help=True)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-11-23") from exc


DateOpt = Annotated[date | None, typer.Option(parser=_day, help="YYYY-MM-DD (UTC).")]
UntilOpt = Annotated[date | None, typer.Option(parser=_day, help="YYYY-MM-DD, exclusive (default: tomorrow).")]
ProjectFilterOpt = Annotated[str | None, typer.Option(help="Only this project.")]


@s3_app.command("start")
def s3_start(config: ConfigOpt = None) -> None:
    """Start the local S3 server (or report the running one) and create the deployment's buckets."""
    from pipeline.storage.local_server import LocalS3Server
    from pipeline.storage.store import ObjectStore

    settings = settings_or_exit(config)
    if endpoint := settings.storage.endpoint:
        note = f"note: storage.endpoint is {endpoint}; the pipeline uses that server, not the local one"
        err.print(note, style="yellow", markup=False)
    with failing(StorageError):
        status = LocalS3Server.from_settings(settings.storage.local).start()
        created = ObjectStore.from_settings(settings.storage.model_copy(update={"endpoint": None})).ensure_buckets()
    console.print(status.describe(), highlight=False)
    if created:
        console.print(f"created buckets: {', '.join(created)}", highlight=False)
    console.print("stop it with: dubflow s3 stop", highlight=False)


@s3_app.command("stop")
def s3_stop(config: ConfigOpt = None) -> None:
    """Stop the local S3 server by its recorded PID (its data stays in the data directory)."""
    from pipeline.storage.local_server import LocalS3Server

    server = LocalS3Server.from_settings(settings_or_exit(config).storage.local)
    console.print("stopped" if server.stop() else "was not running", highlight=False)


@s3_app.command("status")
def s3_status(config: ConfigOpt = None) -> None:
    """Whether the local server runs, and which S3 server the pipeline will use. Exit 1 when none is usable."""
    from pipeline.storage.local_server import LocalS3Server
    from pipeline.storage.store import resolve_connection

    storage = settings_or_exit(config).storage
    console.print(f"local server: {LocalS3Server.from_settings(storage.local).status().describe()}", highlight=False)
    with failing(StorageError):
        console.print(f"pipeline uses: {resolve_connection(storage)!r}", highlight=False)


@s3_app.command("init")
def s3_init(config: ConfigOpt = None) -> None:
    """Create this deployment's buckets on the configured server (versioning on where supported)."""
    store = store_or_exit(config)
    with failing(StorageError):
        created = store.ensure_buckets()
    console.print(f"{store!r}: created {', '.join(created) or 'nothing (all buckets exist)'}", highlight=False)


@inbox_app.command("put")
def inbox_put(
    files: Annotated[list[Path], typer.Argument(help="Script files to queue.")],
    project: Annotated[str, typer.Option(help="Project the scripts belong to.")],
    day: DateOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Upload scripts to inbox/{project}/{date}/ for the next scheduled run (same file twice: uploaded once)."""
    from pipeline.storage.inbox import put_script

    store = store_or_exit(config)
    for path in files:
        with failing(StorageError, InvalidIdError):
            upload = put_script(store, path, project, day)
        state = "uploaded" if upload.uploaded else "already there"
        console.print(f"{path} → s3://{store.bucket('inbox')}/{upload.key} ({state})", highlight=False)


@inbox_app.command("list")
def inbox_list(
    project: Annotated[str, typer.Option(help="Project to list.")],
    since: DateOpt = None,
    until: UntilOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Scripts that arrived in [since, until): what a scheduled run for that interval picks up."""
    from pipeline.storage.inbox import discover

    store = store_or_exit(config)
    end = until or datetime.now(UTC).date() + timedelta(days=1)
    start = since or end - timedelta(days=7)
    with failing(StorageError, InvalidIdError, ValueError):
        items = discover(store, project, start, end)
    rows = [(i.day, i.name, i.size, i.last_modified, i.key) for i in items]
    frame = pd.DataFrame(rows, columns=["day", "script", "bytes", "arrived", "key (script_key)"])
    console.print(frame_table(frame, f"inbox {project} {start} .. {end}"))
    console.print(f"{len(items)} script(s)", highlight=False)


@catalog_app.command("list")
def catalog_list(
    project: ProjectFilterOpt = None, since: DateOpt = None, until: DateOpt = None, config: ConfigOpt = None
) -> None:
    """Published versions: lines, seconds and QA verdicts per script version."""
    from pipeline.storage.asset_catalog import read_catalog, summarize

    store = store_or_exit(config)
    with failing(StorageError):
        summary = summarize(read_catalog(store, project, since, until))
    console.print(frame_table(summary, f"catalog in s3://{store.bucket('assets')}/catalog/"))
    console.print(f"{len(summary)} published version(s)", highlight=False)


@catalog_app.command("show")
def catalog_show(
    project: Annotated[str, typer.Argument(help="Project id.")],
    script_id: Annotated[str, typer.Argument(help="Script id.")],
    version: Annotated[int | None, typer.Option(help="Version (default: the latest).")] = None,
    presign: Annotated[bool, typer.Option(help="Print a presigned download URL per line.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Every line of one published script version with its key, checksum, duration, voice and verdict."""
    from pipeline.storage.asset_catalog import read_catalog

    store = store_or_exit(config)
    with failing(StorageError):
        frame = read_catalog(store, project)
    frame = frame[frame["script_id"] == script_id]
    if frame.empty:
        raise fail(f"{project}/{script_id}: not in the catalog")
    chosen = version or int(frame["version"].max())
    frame = frame[frame["version"] == chosen]
    if frame.empty:
        raise fail(f"{project}/{script_id} v{chosen}: not in the catalog")
    columns = ["line_id", "lang", "duration_s", "voice", "engine", "qa_verdict", "sha256", "key"]
    shown = frame.assign(sha256=frame["sha256"].str[:12])
    console.print(frame_table(shown, f"{project}/{script_id} v{chosen}", columns))
    from pipeline.review import report_path

    path = report_path(project, script_id, chosen)
    if store.exists("assets", f"{project}/{script_id}/v{chosen}/qa/report.html"):
        link = settings_or_exit(config).review.base_url.rstrip("/") + path
        console.print(f"QA report: {link}  (Airflow login; the link does not expire)", highlight=False, soft_wrap=True)
    if presign:  # full URLs on their own lines: a table would cut them
        for line_id, key in zip(frame["line_id"], frame["key"], strict=True):
            console.print(f"{line_id}\t{store.presigned_get('assets', key)}", highlight=False, soft_wrap=True)


@catalog_app.command("rebuild")
def catalog_rebuild(
    project: ProjectFilterOpt = None, since: DateOpt = None, until: DateOpt = None, config: ConfigOpt = None
) -> None:
    """Rewrite the catalog parts from the published manifests (after a backfill or a lost part)."""
    from pipeline.storage.asset_catalog import rebuild

    store = store_or_exit(config)
    with failing(StorageError):
        written = rebuild(store, project, since, until)
    console.print(f"{len(written)} catalog part(s) checked from manifests", highlight=False)
