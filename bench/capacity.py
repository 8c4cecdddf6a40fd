"""Capacity-planning inputs measured through the real fan-out: mean line length, RTF, per-line overhead, lines/hour.

    lines/hour = 3600 × c / (mean line s × RTF + per-line overhead s)

c is the number of workers that may take the voice's lines at once (GPU workers for a GPU engine). The overhead is
every worker-second of the timed run not spent inside the engine, per line: planning, scheduling, WAV encoding, the
upload to S3, the tail where workers wait for the last task. Engines are loaded by a warm-up run first (the
production steady state: workers live for many scripts); then ``--lines`` lines of one voice are synthesized with
``force`` (no cache). Prints a table; no asserts. docs/deploy.md uses it for capacity planning.

    .venv/bin/python bench/capacity.py --voice en-joe                  # 1 local CPU worker, throwaway S3 server
    .venv/bin/python bench/capacity.py --voice zh-baker --workers 2
    # a GPU node / the compose stack: the configured store and catalog, dask.external.scheduler_address
    DUBFLOW_CONFIG=configs/site.yaml .venv/bin/python bench/capacity.py --voice narrator-zh --mode external
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engines import EN, ZH


def script(voice: str, lang: str, lines: int) -> str:
    pool = ZH if lang.split("-", 1)[0] in {"zh", "yue", "cmn"} else EN
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line_id", "text", "voice"])
    for n in range(lines):
        writer.writerow([f"C{n:04d}", pool[n % len(pool)], voice])
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", default="en-joe", help="catalog voice id (settings.voices_file)")
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--mode", choices=["local", "external", "cuda"], default="local")
    parser.add_argument("--workers", type=int, default=1, help="local mode: worker processes")
    args = parser.parse_args()

    from distributed import Client

    from pipeline.compute.cluster import cluster_spec, open_client
    from pipeline.compute.fanout import synthesize
    from pipeline.scripts.ingest import ingest_text
    from pipeline.settings import load_settings
    from pipeline.storage.local_server import LocalS3Server
    from pipeline.storage.store import ObjectStore
    from pipeline.voices.catalog import load_catalog

    base = load_settings()
    catalog = load_catalog(base.voices_file)
    voice = catalog.voice(args.voice)
    ingested = ingest_text(script(args.voice, voice.languages[0], args.lines), "capacity.csv", base.ingest)
    assert ingested.ok, ingested.problems
    lines = ingested.lines
    dask = base.dask.model_copy(update={"mode": args.mode, "workers": args.workers if args.mode == "local" else None})
    settings = base.model_copy(update={"dask": dask})

    with ExitStack() as stack:
        if args.mode == "local":  # a throwaway server, as bench/fanout.py: nothing lands in a real store
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            server = LocalS3Server(Path(tmp) / "s3", s3_port=0)
            server.start()
            stack.callback(server.stop)
            local = base.storage.local.model_copy(update={"data_dir": server.data_dir})
            storage = base.storage.model_copy(update={"endpoint": None, "local": local, "bucket_prefix": "capacity-"})
            settings = settings.model_copy(update={"storage": storage})
        store = ObjectStore.from_settings(settings.storage)
        if args.mode == "local":
            store.ensure_buckets()  # a deployment's buckets exist (minio-init); its pipeline key may not create any
        started = time.perf_counter()
        client: Client = stack.enter_context(open_client(settings.dask, cluster_spec(settings.dask)))
        warm = synthesize(lines[:4], catalog, settings.project, settings, store, client=client, force=True)
        assert not warm.failed, [r.error for r in warm.failed]
        startup = time.perf_counter() - started
        report = synthesize(lines, catalog, settings.project, settings, store, client=client, force=True)
        assert not report.failed, [r.error for r in report.failed]
        gpu = any(r.job.gpu for r in report.results if r.job)
        workers = client.scheduler_info()["workers"].values()
        slots = sum(1 for w in workers if not gpu or w.get("resources", {}).get("GPU"))

    n = len(report.results)
    engine = report.results[0].clip.engine
    mean = report.audio_seconds / n
    rtf = report.synth_seconds / report.audio_seconds
    overhead = (slots * report.wall_seconds - report.synth_seconds) / n
    measured = 3600 * n / report.wall_seconds
    formula = 3600 * slots / (mean * rtf + overhead)
    print(
        f"\n{n} lines, voice {args.voice} ({engine}), mode {args.mode}, c = {slots} worker(s); "
        f"cluster start + engine load {startup:.1f} s (not in the timed run)\n"
    )
    print("| c | lines | mean line s | RTF | per-line overhead s | wall s | lines/h measured | lines/h formula |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {slots} | {n} | {mean:.2f} | {rtf:.3f} | {overhead:.3f} | {report.wall_seconds:.2f} | {measured:,.0f} "
        f"| {formula:,.0f} |"
    )


if __name__ == "__main__":
    main()
