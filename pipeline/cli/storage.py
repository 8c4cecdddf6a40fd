"""``dubflow s3 | inbox | catalog``: the embedded S3 server, the script inbox and the published-asset catalog."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipeline.cli.common import ConfigOpt, console, err, settings_or_exit, store_or_exit
from pipeline.console import frame_table
from pipeline.storage.errors import StorageError

s3_app = typer.Typer(help="The embedded S3 server (SeaweedFS on 127.0.0.1) and bucket set-up.", no_args_is_help=True)
inbox_app = typer.Typer(help="Scripts waiting to be voiced: inbox/{project}/{date}/.", no_args_is_help=True)
catalog_app = typer.Typer(help="The Parquet catalog of published assets.", no_args_is_help=True)

DateOpt = Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC).")]
ProjectFilterOpt = Annotated[str | None, typer.Option(help="Only this project.")]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-11-23", param_hint=name) from exc


def _fail(exc: Exception) -> typer.Exit:
    err.print(str(exc), style="red", markup=False, soft_wrap=True)  # paths and keys stay copy-pastable
    return typer.Exit(1)


@s3_app.command("start")
def s3_start(config: ConfigOpt = None) -> None:
    """Start the local S3 server (or report the running one) and create the deployment's buckets."""
    from pipeline.storage.local_server import LocalS3Server
    from pipeline.storage.store import ObjectStore

    settings = settings_or_exit(config)
    if settings.storage.endpoint:
        err.print(f"note: storage.endpoint is {settings.storage.endpoint}; the pipeline uses that server, "
                  "not the local one", style="yellow", markup=False)  # fmt: skip
    try:
        status = LocalS3Server.from_settings(settings.storage.local).start()
        local = settings.storage.model_copy(update={"endpoint": None})
        created = ObjectStore.from_settings(local).ensure_buckets()
    except StorageError as exc:
        raise _fail(exc) from exc
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

    settings = settings_or_exit(config)
    console.print(f"local server: {LocalS3Server.from_settings(settings.storage.local).status().describe()}",
                  highlight=False)  # fmt: skip
    try:
        connection = resolve_connection(settings.storage)
    except StorageError as exc:
        raise _fail(exc) from exc
    console.print(f"pipeline uses: {connection!r}", highlight=False)


@s3_app.command("init")
def s3_init(config: ConfigOpt = None) -> None:
    """Create this deployment's buckets on the configured server (versioning on where supported)."""
    store = store_or_exit(settings_or_exit(config))
    try:
        created = store.ensure_buckets()
    except StorageError as exc:
        raise _fail(exc) from exc
    console.print(f"{store!r}: created {', '.join(created) or 'nothing (all buckets exist)'}", highlight=False)


@inbox_app.command("put")
def inbox_put(
    files: Annotated[list[Path], typer.Argument(help="Script files to queue.")],
    project: Annotated[str, typer.Option(help="Project the scripts belong to.")],
    day: DateOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Upload scripts to inbox/{project}/{date}/ for the next scheduled run (same file twice: uploaded once)."""
    from pipeline.ids import InvalidIdError
    from pipeline.storage.inbox import put_script

    store = store_or_exit(settings_or_exit(config))
    when = _day(day, "--day")
    for path in files:
        try:
            upload = put_script(store, path, project, when)
        except (StorageError, InvalidIdError) as exc:
            raise _fail(exc) from exc
        state = "uploaded" if upload.uploaded else "already there"
        console.print(f"{path} → s3://{store.bucket('inbox')}/{upload.key} ({state})", highlight=False)


@inbox_app.command("list")
def inbox_list(
    project: Annotated[str, typer.Option(help="Project to list.")],
    since: DateOpt = None,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD, exclusive (default: tomorrow).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Scripts that arrived in [since, until): what a scheduled run for that interval picks up."""
    from pipeline.ids import InvalidIdError
    from pipeline.storage.inbox import discover

    store = store_or_exit(settings_or_exit(config))
    today = datetime.now(UTC).date()
    end = _day(until, "--until") or today + timedelta(days=1)
    start = _day(since, "--since") or end - timedelta(days=7)
    try:
        items = discover(store, project, start, end)
    except (StorageError, InvalidIdError, ValueError) as exc:
        raise _fail(exc) from exc
    rows = [{"day": i.day, "script": i.name, "bytes": i.size, "arrived": i.last_modified} for i in items]
    frame = pd.DataFrame(rows, columns=["day", "script", "bytes", "arrived"])
    console.print(frame_table(frame, f"inbox {project} {start} .. {end}"))
    console.print(f"{len(items)} script(s)", highlight=False)


@catalog_app.command("list")
def catalog_list(
    project: ProjectFilterOpt = None, since: DateOpt = None, until: DateOpt = None, config: ConfigOpt = None
) -> None:
    """Published versions: lines, seconds and QA verdicts per script version."""
    from pipeline.storage.asset_catalog import read_catalog, summarize

    store = store_or_exit(settings_or_exit(config))
    try:
        summary = summarize(read_catalog(store, project, _day(since, "--since"), _day(until, "--until")))
    except StorageError as exc:
        raise _fail(exc) from exc
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

    store = store_or_exit(settings_or_exit(config))
    try:
        frame = read_catalog(store, project)
    except StorageError as exc:
        raise _fail(exc) from exc
    frame = frame[frame["script_id"] == script_id]
    if frame.empty:
        raise _fail(LookupError(f"{project}/{script_id}: not in the catalog"))
    chosen = version or int(frame["version"].max())
    frame = frame[frame["version"] == chosen]
    if frame.empty:
        raise _fail(LookupError(f"{project}/{script_id} v{chosen}: not in the catalog"))
    columns = ["line_id", "lang", "duration_s", "voice", "engine", "qa_verdict", "sha256", "key"]
    console.print(frame_table(frame.assign(sha256=frame["sha256"].str[:12]), f"{project}/{script_id} v{chosen}",
                              columns))  # fmt: skip
    if presign:  # full URLs on their own lines: a table would cut them
        for line_id, key in zip(frame["line_id"], frame["key"], strict=True):
            console.print(f"{line_id}\t{store.presigned_get('assets', key)}", highlight=False, soft_wrap=True)


@catalog_app.command("rebuild")
def catalog_rebuild(
    project: ProjectFilterOpt = None, since: DateOpt = None, until: DateOpt = None, config: ConfigOpt = None
) -> None:
    """Rewrite the catalog parts from the published manifests (after a backfill or a lost part)."""
    from pipeline.storage.asset_catalog import rebuild

    store = store_or_exit(settings_or_exit(config))
    try:
        written = rebuild(store, project, _day(since, "--since"), _day(until, "--until"))
    except StorageError as exc:
        raise _fail(exc) from exc
    console.print(f"{len(written)} catalog part(s) checked from manifests", highlight=False)
