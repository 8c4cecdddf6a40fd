"""Fuzz ingestion harder than the test suite does: fresh random examples of every format, many of them.

The same strategies as tests/scripts/test_fuzz.py (raw bytes, raw text, and files built to each format's structure),
not derandomized, so every run explores new inputs. Prints a table per format: examples, seconds, how many were
read / refused, lines produced, and failures (an exception or an ``internal-error``), which must be 0. Not a test.

    .venv/bin/python bench/fuzz_ingest.py [--examples 20000] [--formats .srt .vtt]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.scripts.ingest import ingest_bytes, supported_suffixes
from pipeline.settings import Settings
from tests.scripts.fuzz_inputs import inputs


def run(suffix: str, examples: int) -> dict[str, float]:
    counts = {"read": 0, "refused": 0, "lines": 0, "failures": 0}
    ingest_settings = Settings().ingest

    @given(inputs(suffix))
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def one(data: bytes) -> None:
        try:
            result = ingest_bytes(data, f"fuzz{suffix}", ingest_settings)
        except Exception as exc:  # a failure is what this bench looks for: count it, show it, go on
            counts["failures"] += 1
            print(f"{suffix}: {type(exc).__name__}: {exc} for {data[:120]!r}", file=sys.stderr)
            return
        if any(p.code == "internal-error" for p in result.problems):
            counts["failures"] += 1
            print(f"{suffix}: {[str(p) for p in result.errors]} for {data[:120]!r}", file=sys.stderr)
        counts["read" if result.ok else "refused"] += 1
        counts["lines"] += len(result.lines)

    start = time.perf_counter()
    one()
    return {**counts, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000, help="examples per format")
    parser.add_argument("--formats", nargs="*", default=supported_suffixes())
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    table = Table(title=f"ingest fuzzing, {args.examples} random examples per format")
    for column in ("format", "examples", "seconds", "read", "refused", "lines out", "failures"):
        table.add_column(column, justify="right")
    for suffix in args.formats:
        r = run(suffix, args.examples)
        table.add_row(suffix, f"{args.examples:,}", f"{r['seconds']:.0f}", f"{r['read']:,}", f"{r['refused']:,}",
                      f"{r['lines']:,}", str(r["failures"]))  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
