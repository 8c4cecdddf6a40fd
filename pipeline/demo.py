"""``make demo``: every stage that exists so far, run on the sample scripts with the embedded defaults.

Start the embedded S3 server unless an endpoint is configured, queue each sample in the inbox, ingest it against
the demo project's voice map, fan its lines out over a local Dask cluster (clips land in the staging cache), post-
process and QA-gate every line on the workers, assemble stems/chapters, subtitles and the QA report into
``<out>/delivery/<script_id>/``, then publish each script version (objects, manifest last, catalog rows). A second
run finds every clip and every QA result cached and starts no cluster.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.audio.profiles import Profile, resolve_profile
from pipeline.compute.cluster import ClusterError, LazyClient
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
from pipeline.storage.locks import Holder, script_lock
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog, load_catalog

log = logging.getLogger(__name__)
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
        console.print(f"[red]object store: {escape(str(exc))}[/red]")
        return 2
    if server is not None:
        console.print(f"local S3 server {server.describe()} (stop it with `dubflow s3 stop`)", highlight=False)
    run_id = "demo-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    profile = resolve_profile(settings.audio.profiles_file, settings.audio.profile, settings.audio.overrides)
    failures = quarantined = 0
    with LazyClient(settings.dask) as client:
        for path in files:
            try:  # each script on its own: one that cannot be voiced never costs the others
                outcome = _demo_script(path, settings, catalog, project, store, client, profile, out, run_id, console)
            except (StorageError, ClusterError) as exc:  # a server gone, a cluster that cannot start, a busy script
                console.print(f"[red]{escape(path.name)}: not voiced: {escape(str(exc))}[/red]")
                outcome = None
            except Exception as exc:  # a bug of ours: say what, and go on with the next script
                log.exception("demo: %s failed", path)
                console.print(f"[red]{escape(path.name)}: failed ({type(exc).__name__}: {escape(str(exc))})[/red]")
                outcome = None
            if outcome is None:
                failures += 1
            else:
                failures += outcome[0]
                quarantined += outcome[1]
        started = "a local Dask cluster" if client.started else "no cluster (every clip was cached)"
    try:
        console.print(_catalog_table(store, project))
    except StorageError as exc:
        console.print(f"[red]catalog: {escape(str(exc))}[/red]")
        failures += 1
    console.print(f"{len(files)} sample scripts → {out / 'lines'}, {out / 'delivery'} and {store!r} using {started}"
                  f" ({profile.name} profile); {failures} failure(s), {quarantined} line(s) quarantined by QA",
                  highlight=False)  # fmt: skip
    return 1 if failures else 0


def _demo_script(path: Path, settings: Settings, catalog: Catalog, project: str, store: ObjectStore, client: LazyClient,
                 profile: Profile, out: Path, run_id: str, console: Console) -> tuple[int, int]:  # fmt: skip
    """Queue, ingest, voice, check and publish one sample; (failures, quarantined lines)."""
    queued = put_script(store, path, project)
    console.print(f"inbox: s3://{store.bucket('inbox')}/{queued.key}", highlight=False)
    ingested = ingest_script(path, settings, catalog, project)
    console.print(lines_table(ingested))
    print_problems(console, ingested.problems)
    if not ingested.ok:
        return 1, 0
    write_lines(ingested, out / "lines" / f"{ingested.script_id}.lines.parquet")

    def waiting(holder: Holder) -> None:
        console.print(f"{ingested.script_id}: waiting for {holder.describe()}, which is voicing it", highlight=False)

    with script_lock(store, project, ingested.script_id, run_id, wait=settings.synthesis.script_lock_wait,
                     on_wait=waiting):  # fmt: skip
        with synthesis_progress(console, len(ingested.lines), ingested.script_id) as progress:
            run = voice_script(ingested, path, settings, catalog, project, store, client, progress=progress,
                               run_id=run_id)  # fmt: skip
        assert run.report is not None
        console.print(run_table(run.report, f"{ingested.script_id}: {run.report.summary()}"))
        if not run.ok:
            console.print(f"[red]{ingested.script_id}: not published, {len(run.report.failed)} line(s) failed[/red]")
            return len(run.report.failed), 0
        checked = finish(run.report, settings, profile, store, client)
        pkg = package(ingested.lines, checked, profile, store, out / "delivery" / ingested.script_id, project,
                      ingested.script_id)  # fmt: skip
        console.print(qa_table(pkg.qa))
        source = {"name": path.name, "sha256": sha256_file(path), "inbox_key": queued.key}
        published = publish_package(store, pkg, run_id, source)
    console.print(f"published: {published.describe() if published else 'nothing passed QA'}", highlight=False)
    return 0, pkg.qa.counts()["quarantined"]


def _catalog_table(store: ObjectStore, project: str) -> Table:
    summary = summarize(read_catalog(store, project))
    return frame_table(summary, f"catalog: s3://{store.bucket('assets')}/catalog/ (dubflow catalog list)")
