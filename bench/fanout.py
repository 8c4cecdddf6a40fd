"""Fan-out on Dask against the loop a user would write instead, on one 100-line script (50 English, 50 Mandarin).

In one invocation, against a throwaway local S3 server:
  (a)  a sequential loop through the workers' own plan and speak path, with the engines' default threading
       (onnxruntime spreads over all cores)
  (a1) the same loop with each engine pinned to one thread
  (b)  dubflow on a LocalCluster with 1 worker (1 engine thread)
  (c)  dubflow with N workers (N = cores, 1 engine thread each: workers × threads = cores)
  then a re-run of (c) with every line cached, and with one line edited.
(b) and (c) are timed on a started cluster whose workers already loaded their engines; cluster start-up and
engine loading are printed separately. Prints a table; no asserts.

    .venv/bin/python bench/fanout.py [--lines 100]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import EN, ZH


def script(lines: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line_id", "text"])
    for n in range(lines):
        pool = EN if n % 2 == 0 else ZH
        first, second = pool[n // 2 % len(pool)], pool[(n // 2 + 7) % len(pool)]
        writer.writerow([f"L{n:03d}", f"{first} {second}"])
    return buffer.getvalue()


def sequential(lines, catalog, engines) -> float:
    """The loop a user would write, planned and spoken by the same code the workers run (``voices.speak``)."""
    from pipeline.engines.registry import EngineRegistry
    from pipeline.voices.plan import plan_jobs
    from pipeline.voices.speak import reference_file, speak

    registry = EngineRegistry(engines)
    registry.get("piper"), registry.get("mandarin")  # load outside the timing, as the workers do
    start = time.perf_counter()
    jobs, failures = plan_jobs(lines, catalog, "demo", registry, 0)
    assert not failures, failures
    for job in jobs:
        speak(registry, job, reference_file(job.reference))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from pipeline.compute.cluster import cpu_count
    from pipeline.compute.fanout import synthesize
    from pipeline.scripts.ingest import ingest_text
    from pipeline.settings import load_settings
    from pipeline.storage.local_server import LocalS3Server
    from pipeline.storage.store import ObjectStore
    from pipeline.voices.catalog import load_catalog

    cores = cpu_count()
    base = load_settings()
    catalog = load_catalog(base.voices_file)
    ingested = ingest_text(script(args.lines), "bench.csv", base.ingest, voice_map=catalog.voice_map("demo"))
    assert ingested.ok, ingested.problems
    lines = ingested.lines
    pinned = base.engines.model_copy(update={
        "piper": base.engines.piper.model_copy(update={"num_threads": 1}),
        "mandarin": base.engines.mandarin.model_copy(update={"num_threads": 1}),
    })  # fmt: skip
    rows: list[tuple[str, float, str]] = []
    a = sequential(lines, catalog, base.engines)
    rows.append(("(a) sequential loop, default threads", a, ""))
    a1 = sequential(lines, catalog, pinned)
    rows.append(("(a1) sequential loop, 1 thread per engine", a1, ""))

    with tempfile.TemporaryDirectory() as tmp:
        server = LocalS3Server(Path(tmp) / "s3", s3_port=0)
        server.start()
        try:
            results = {}
            for workers in (1, cores):
                settings = base.model_copy(update={
                    "storage": base.storage.model_copy(update={"bucket_prefix": f"bench{workers}-",
                                                               "endpoint": None,
                                                               "local": base.storage.local.model_copy(
                                                                   update={"data_dir": server.data_dir})}),
                    "dask": base.dask.model_copy(update={"workers": workers, "engine_threads": 1}),
                })  # fmt: skip
                store = ObjectStore.from_settings(settings.storage)
                store.ensure_buckets()
                started = time.perf_counter()
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0", silence_logs=40)  # fmt: skip
                client = Client(cluster)
                warm = synthesize(lines[: workers * 2], catalog, "demo", settings, store, client=client, force=True)
                startup = time.perf_counter() - started
                report = synthesize(lines, catalog, "demo", settings, store, client=client, force=True)
                assert not report.failed, [r.error for r in report.failed]
                results[workers] = report.wall_seconds
                label = "(b) dubflow, 1 worker" if workers == 1 else f"(c) dubflow, {workers} workers"
                rows.append(
                    (
                        label,
                        report.wall_seconds,
                        f"start-up + engine load {startup:.1f} s ({warm.count('synthesized')} warm-up lines)",
                    )
                )
                if workers == cores:
                    cached = synthesize(lines, catalog, "demo", settings, store, client=None)
                    rows.append(("re-run, every line cached (no cluster)", cached.wall_seconds,
                                 f"{cached.count('cached')} cached"))  # fmt: skip
                    edited = [*lines[:10], replace(lines[10], text=lines[10].text + " Again."), *lines[11:]]
                    one = synthesize(edited, catalog, "demo", settings, store, client=client)
                    rows.append(
                        (
                            "re-run, one line edited (warm cluster)",
                            one.wall_seconds,
                            f"{one.count('synthesized')} synthesized, {one.count('cached')} cached",
                        )
                    )
                client.close()
                cluster.close()
        finally:
            server.stop()

    b, c = results[1], results[cores]
    print(
        f"\n{args.lines} lines ({sum(1 for x in lines if x.lang == 'en')} en piper, "
        f"{sum(1 for x in lines if x.lang == 'zh')} zh mandarin), {cores} cores\n"
    )
    print("| run | wall s | × (a) | notes |\n|---|---|---|---|")
    for label, seconds, note in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / a:.2f} | {note} |")
    print()
    print(f"orchestration overhead (b − a1) / a1: {(b - a1) / a1:+.1%}")
    print(f"parallel efficiency a1 / (N × c), N={cores}: {a1 / (cores * c):.1%}")
    print(f"speed-up a / c: {a / c:.2f}×")
    cached_row = next(r for r in rows if r[0].startswith("re-run, every"))
    print(f"fully cached re-run / first run (c): {cached_row[1] / c:.1%}")


if __name__ == "__main__":
    main()
