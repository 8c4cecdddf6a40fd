"""``make demo``: every stage that exists so far, run on the sample scripts with the embedded defaults.

Today: ingest each sample against the demo project's voice map, then speak every line with the embedded CPU
voices into ``<out>/audio/<script_id>/<line_id>.wav``. Later stages (Dask, post-processing, QA, publishing) plug
in here as they land.
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from rich.console import Console
from rich.table import Table

from pipeline.console import lines_table, print_problems
from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.ingest import ingest_file, supported_suffixes
from pipeline.scripts.table import write_lines
from pipeline.settings import Settings
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
    registry = EngineRegistry(settings.engines)
    failures = 0
    for path in files:
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
            note = f" ({len(spoken.warnings)} warnings)" if spoken.warnings else ""
            summary.add_row(line.line_id, voice.id, spoken.engine, f"{spoken.duration:.2f}", f"{spoken.rtf:.3f}",
                            f"{wav}{note}")  # fmt: skip
        console.print(summary)
    console.print(f"{len(files)} sample scripts → {out / 'lines'} and {out / 'audio'}; {failures} failure(s)")
    return 1 if failures else 0
