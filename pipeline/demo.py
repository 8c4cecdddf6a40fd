"""``make demo``: every stage that exists so far, run on the sample scripts with the embedded defaults.

Start the embedded S3 server unless an endpoint is configured, queue each sample in the inbox, ingest it against
the demo project's voice map, fan its lines out over a local Dask cluster (clips land in the staging cache), post-
process and QA-gate every line on the workers, assemble stems/chapters, subtitles and the QA report into
``<out>/delivery/<script_id>/``, then publish each script version (objects, manifest last, catalog rows). A second
run finds every clip and every QA result cached and starts no cluster.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline.audio.profiles import resolve_profile
from pipeline.compute.cluster import LazyClient
from pipeline.compute.finish import finish
from pipeline.console import frame_table, lines_table, print_problems, qa_table, run_table, synthesis_progress
from pipeline.deliver import package, publish_package
from pipeline.digest import sha256_file
from pipeline.run import ingest_script, voice_script
from pipeline.scripts.ingest import supported_suffixes
from pipeline.scripts.table import write_lines
from pipeline.settings import Settings
from pipeline.storage.catalog import read_catalog, summarize
from pipeline.storage.connect import connect_store
from pipeline.storage.errors import StorageError
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import load_catalog

DEMO_PROJECT = "demo"


def run_demo(settings: Settings, samples: Path, out: Path, console: Console, project: str = DEMO_PROJECT) -> int:
    """Returns the process exit code: 0 when every sample line was ingested, spoken and published."""
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in supported_suffixes())
    if not files:
        console.print(f"[red]no sample scripts in {samples}[/red]")
        return 1
    catalog = load_catalog(settings.voices_file)
    print_problems(console, catalog.problems)
    if any(p.severity == "error" for p in catalog.problems):
        return 1
    try:
        store, server = connect_store(settings)
    except StorageError as exc:
        console.print(f"[red]object store: {exc}[/red]")
        return 1
    if server is not None:
        console.print(f"local S3 server {server.describe()} (stop it with `dubflow s3 stop`)", highlight=False)
    run_id = "demo-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    profile = resolve_profile(settings.audio.profiles_file, settings.audio.profile, settings.audio.overrides)
    failures = quarantined = 0
    with LazyClient(settings.dask) as client:
        for path in files:
            queued = put_script(store, path, project)
            console.print(f"inbox: s3://{store.bucket('inbox')}/{queued.key}", highlight=False)
            ingested = ingest_script(path, settings, catalog, project)
            console.print(lines_table(ingested))
            print_problems(console, ingested.problems)
            if not ingested.ok:
                failures += 1
                continue
            write_lines(ingested, out / "lines" / f"{ingested.script_id}.lines.parquet")
            with synthesis_progress(console, len(ingested.lines), ingested.script_id) as progress:
                run = voice_script(ingested, path, settings, catalog, project, store, client, progress=progress,
                                   run_id=run_id)  # fmt: skip
            assert run.report is not None
            console.print(run_table(run.report, f"{ingested.script_id}: {run.report.summary()}"))
            if not run.ok:
                failures += len(run.report.failed)
                console.print(f"[red]{ingested.script_id}: not published, {len(run.report.failed)} line(s) "
                              "failed[/red]")  # fmt: skip
                continue
            checked = finish(run.report, settings, profile, store, client)
            pkg = package(ingested.lines, checked, profile, store, out / "delivery" / ingested.script_id, project,
                          ingested.script_id)  # fmt: skip
            console.print(qa_table(pkg.qa))
            quarantined += pkg.qa.counts()["quarantined"]
            source = {"name": path.name, "sha256": sha256_file(path), "inbox_key": queued.key}
            published = publish_package(store, pkg, run_id, source)
            console.print(f"published: {published.describe() if published else 'nothing passed QA'}", highlight=False)
        started = "a local Dask cluster" if client.started else "no cluster (every clip was cached)"
    console.print(_catalog_table(store, project))
    console.print(f"{len(files)} sample scripts → {out / 'lines'}, {out / 'delivery'} and {store!r} using {started}"
                  f" ({profile.name} profile); {failures} failure(s), {quarantined} line(s) quarantined by QA",
                  highlight=False)  # fmt: skip
    return 1 if failures else 0


def _catalog_table(store: ObjectStore, project: str) -> Table:
    summary = summarize(read_catalog(store, project))
    return frame_table(summary, f"catalog: s3://{store.bucket('assets')}/catalog/ (dubflow catalog list)")
