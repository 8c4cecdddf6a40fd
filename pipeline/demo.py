"""``make demo``: every stage that exists so far, run on the sample scripts with the embedded defaults."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from pipeline.console import lines_table, print_problems
from pipeline.scripts.ingest import ingest_file, supported_suffixes
from pipeline.scripts.table import write_lines
from pipeline.settings import Settings


def run_demo(settings: Settings, samples: Path, out: Path, console: Console) -> int:
    """Returns the process exit code: 0 when every sample went through."""
    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in supported_suffixes())
    if not files:
        console.print(f"[red]no sample scripts in {samples}[/red]")
        return 1
    failures = 0
    for path in files:
        result = ingest_file(path, settings.ingest)
        console.print(lines_table(result))
        print_problems(console, result.problems)
        if not result.ok:
            failures += 1
            continue
        written = write_lines(result, out / "lines" / f"{result.script_id}.lines.parquet")
        console.print(f"[green]✓[/green] {path} → {written}\n")
    console.print(f"ingested {len(files) - failures}/{len(files)} sample scripts into {out / 'lines'}")
    return 1 if failures else 0
