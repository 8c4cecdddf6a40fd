"""What each hostile script costs before it is refused: wall time and peak memory, one process per input.

The inputs are tests/security/hostile.py's (a 1 M-row XLSX zip bomb, a 500 MB cell, JSON nested 100,000 deep,
a JSON file with a decoy ``lines`` array, a 20,000-character line, a 20 MB SRT nobody can speak). Each runs in a
fresh process through ``ingest_bytes``, the path every caller takes; memory is the peak RSS above the process's RSS
just before the call (imports and language models already loaded). Prints a table; not a test.

    .venv/bin/python bench/hostile.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
INPUTS = {
    "XLSX zip bomb (1 M rows)": ("xlsx_rows_bomb", "bomb.xlsx", "< 2 s, < 200 MB"),
    "XLSX with a 500 MB cell": ("xlsx_huge_cell", "cell.xlsx", "< 2 s, < 200 MB"),
    "JSON nested 100,000 deep": ("json_nested", "deep.json", "no traceback"),
    "JSONL nested 100,000 deep": ("jsonl_nested", "deep.jsonl", "no traceback"),
    "JSON with a decoy lines array": ("json_injection", "inject.json", "the real line"),
    "one 20,000-character line": ("long_line_csv", "long.csv", "refused"),
    "20 MB SRT, 1,700 chars in 0.9 s": ("fast_srt", "fast.srt", "refused / warned"),
}
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from tests.security import hostile
from pipeline.scripts.ingest import ingest_bytes
from pipeline.settings import Settings
settings = Settings().ingest
ingest_bytes("text\\nHello there, friend.\\n".encode(), "warm.csv", settings)  # imports, language models
data = getattr(hostile, {maker!r})()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rss = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024
start = time.perf_counter()
result = ingest_bytes(data, {name!r}, settings)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"bytes": len(data), "seconds": seconds, "peak_mb": max(0, peak - rss) / 1024,
                  "ok": result.ok, "lines": len(result.lines), "texts": [l.text[:20] for l in result.lines[:2]],
                  "codes": sorted({{p.code for p in result.errors}})}}))
"""


def main() -> None:
    table = Table(title="hostile inputs: cost of reading them (fresh process each, ingest_bytes)")
    for column in ("input", "bytes", "seconds", "peak MB above start", "outcome", "target"):
        table.add_column(column, justify="right" if column in ("bytes", "seconds", "peak MB above start") else "left")
    for label, (maker, name, target) in INPUTS.items():
        code = CHILD.format(repo=str(REPO), maker=maker, name=name)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        outcome = f"read: {r['lines']} line(s) {r['texts']}" if r["ok"] else f"refused: {', '.join(r['codes'])}"
        table.add_row(label, f"{r['bytes']:,}", f"{r['seconds']:.2f}", f"{r['peak_mb']:.0f}", outcome, target)
    Console().print(table)


if __name__ == "__main__":
    main()
