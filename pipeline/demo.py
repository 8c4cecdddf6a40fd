"""``make demo``: every stage that exists so far, run on the sample scripts with the embedded defaults.

Today: start the embedded S3 server unless an endpoint is configured, queue each sample in the inbox, ingest it
against the demo project's voice map, speak every line with the embedded CPU voices into
``<out>/audio/<script_id>/<line_id>.wav``, then publish each script version (objects, manifest last, catalog rows).
Later stages (Dask, post-processing, QA) plug in here as they land.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import soundfile as sf
from rich.console import Console
from rich.table import Table

from pipeline.console import frame_table, lines_table, print_problems
from pipeline.digest import sha256_file
from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.ingest import ingest_file, supported_suffixes
from pipeline.scripts.table import write_lines
from pipeline.settings import Settings
from pipeline.storage.catalog import read_catalog, summarize
from pipeline.storage.errors import StorageError
from pipeline.storage.inbox import put_script
from pipeline.storage.local_server import LocalS3Server
from pipeline.storage.publish import Delivery, DeliveryLine, publish
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import load_catalog
from pipeline.voices.speak import speak

DEMO_PROJECT = "demo"


def run_demo(settings: Settings, samples: Path, out: Path, console: Console, project: str = DEMO_PROJECT) -> int:
    """Returns the process exit code: 0 when every sample line was ingested and spoken."""
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in supported_suffixes())
    if not files:
        console.print(f"[red]no sample scripts in {samples}[/red]")
        return 1
    catalog = load_catalog(settings.voices_file)
    print_problems(console, catalog.problems)
    if any(p.severity == "error" for p in catalog.problems):
        return 1
    try:
        store = _store(settings, console)
    except StorageError as exc:
        console.print(f"[red]object store: {exc}[/red]")
        return 1
    registry = EngineRegistry(settings.engines)
    run_id = "demo-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    failures = 0
    for path in files:
        queued = put_script(store, path, project)
        console.print(f"inbox: s3://{store.bucket('inbox')}/{queued.key}", highlight=False)
        result = ingest_file(path, settings.ingest, voice_map=catalog.voice_map(project))
        console.print(lines_table(result))
        print_problems(console, result.problems)
        if not result.ok:
            failures += 1
            continue
        write_lines(result, out / "lines" / f"{result.script_id}.lines.parquet")
        summary = Table(title=f"{result.script_id}: spoken", title_justify="left")
        for column in ("line_id", "voice", "engine", "seconds", "RTF", "file / problem"):
            summary.add_column(column)
        delivered: list[DeliveryLine] = []
        for line in result.lines:
            try:
                voice, spoken = speak(line, catalog, registry, project, seed=0)
            except (EngineError, KeyError) as exc:
                failures += 1
                summary.add_row(line.line_id, line.voice or "", "", "", "", f"[red]{exc}[/red]")
                continue
            wav = out / "audio" / result.script_id / f"{line.line_id}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            sf.write(wav, spoken.samples, spoken.sample_rate, subtype="PCM_16")
            delivered.append(DeliveryLine(
                line_id=line.line_id, lang=line.lang, path=wav, duration=spoken.duration,
                sample_rate=spoken.sample_rate, voice=voice.id, engine=spoken.engine, text=line.text,
                start=line.start, end=line.end,
            ))
            note = f" ({len(spoken.warnings)} warnings)" if spoken.warnings else ""
            summary.add_row(line.line_id, voice.id, spoken.engine, f"{spoken.duration:.2f}", f"{spoken.rtf:.3f}",
                            f"{wav}{note}")  # fmt: skip
        console.print(summary)
        if len(delivered) != len(result.lines):
            console.print(f"[red]{result.script_id}: not published, {len(result.lines) - len(delivered)} "
                          "line(s) failed[/red]")  # fmt: skip
            continue
        source = {"name": path.name, "sha256": sha256_file(path), "inbox_key": queued.key}
        published = publish(store, Delivery(project, result.script_id, delivered, run_id, source=source))
        console.print(f"published: {published.describe()}", highlight=False)
    console.print(_catalog_table(store, project))
    console.print(f"{len(files)} sample scripts → {out / 'lines'}, {out / 'audio'} and {store!r}; "
                  f"{failures} failure(s)", highlight=False)  # fmt: skip
    return 1 if failures else 0


def _store(settings: Settings, console: Console) -> ObjectStore:
    """The configured S3 server, or the embedded one, started (or reused) on 127.0.0.1."""
    if not settings.storage.endpoint:
        status = LocalS3Server.from_settings(settings.storage.local).start()
        console.print(f"local S3 server {status.describe()} (stop it with `dubflow s3 stop`)", highlight=False)
    store = ObjectStore.from_settings(settings.storage)
    store.ensure_buckets()
    return store



def _catalog_table(store: ObjectStore, project: str) -> Table:
    summary = summarize(read_catalog(store, project))
    return frame_table(summary, f"catalog: s3://{store.bucket('assets')}/catalog/ (dubflow catalog list)")
