"""Scripts in, clips out: ingest each script, fan its lines out on Dask, fetch the clips. Shared by ``dubflow run``
and the demo; Airflow's tasks call the same stages one by one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.compute.fanout import LineResult, RunReport, synthesize
from pipeline.digest import sha256_file
from pipeline.scripts.ingest import ingest_file
from pipeline.scripts.model import IngestResult
from pipeline.settings import Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog


@dataclass
class ScriptRun:
    path: Path
    ingest: IngestResult
    report: RunReport | None = None  # None when ingest found errors
    clips: dict[str, Path] | None = None  # line id → local clip, when fetched

    @property
    def ok(self) -> bool:
        return self.report is not None and not self.report.failed


def ingest_script(path: Path, settings: Settings, catalog: Catalog, project: str) -> IngestResult:
    return ingest_file(path, settings.ingest, voice_map=catalog.voice_map(project))


def voice_script(
    ingested: IngestResult, path: Path, settings: Settings, catalog: Catalog, project: str, store: ObjectStore,
    client: Any, force: bool = False, progress: Callable[[LineResult], None] | None = None,
    run_id: str | None = None,
) -> ScriptRun:  # fmt: skip
    if not ingested.ok:
        return ScriptRun(path, ingested)
    report = synthesize(ingested.lines, catalog, project, settings, store, client=client, force=force,
                        progress=progress, run_id=run_id)  # fmt: skip
    return ScriptRun(path, ingested, report)


def fetch_clips(store: ObjectStore, run: ScriptRun, folder: Path) -> dict[str, Path]:
    """Download the run's clips from the staging cache to ``folder/<line_id>.wav`` (skipping unchanged files)."""
    assert run.report is not None
    clips: dict[str, Path] = {}
    for result in run.report.results:
        if result.status == "failed" or result.key is None:
            continue
        target = folder / f"{result.line.line_id}.wav"
        info = store.stat("staging", result.key)
        if info is None:
            raise FileNotFoundError(f"clip of line {result.line.line_id} vanished from the cache ({result.key})")
        if not (target.is_file() and sha256_file(target) == info.sha256):
            store.get_file("staging", result.key, target)
        clips[result.line.line_id] = target
    run.clips = clips
    return clips
