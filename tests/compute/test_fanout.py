"""The fan-out on a real two-worker LocalCluster, real engines, the real S3 server."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import numpy as np
import soundfile as sf

from pipeline.compute.fanout import LineResult, synthesize
from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.model import Line
from pipeline.settings import ExternalClusterSettings, Settings
from pipeline.storage import keys
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from pipeline.voices.speak import reference_file, speak

MIXED = [
    ("en-1", "Good evening, harbour.", ""),
    ("zh-1", "你终于来了！", ""),
    ("en-2", "The tide is turning.", ""),
    ("zh-2", "我们快走吧。", ""),
    ("en-3", "Stay close to the light.", ""),
    ("t-1", "a test tone", "faulty"),
]


def _audio(store: ObjectStore, result: LineResult) -> np.ndarray:
    import io

    assert result.key is not None
    samples, _ = sf.read(io.BytesIO(store.get_bytes("staging", result.key)), dtype="float32")
    return samples


def test_two_workers_give_the_same_lines_as_a_sequential_loop(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    lines = sheet(MIXED)
    report = synthesize(lines, catalog, "t", settings, store, client=dask_client)
    assert [r.line.line_id for r in report.results] == [line.line_id for line in lines]
    assert {r.status for r in report.results} == {"synthesized"}, report.summary()
    assert len({r.clip.worker for r in report.results}) == 2  # the work really was spread
    registry = EngineRegistry(settings.engines)
    for result in report.results:
        assert result.job is not None  # the worker and the loop speak the same plan, through the same policy
        sequential = speak(
            registry, result.job, reference_file(result.job.reference), seed=result.clip.seed_used
        ).result
        assert result.clip.engine == sequential.engine
        # Piper (seeded) and the Mandarin voice are deterministic: the worker's clip is the sequential one, up to
        # float rounding (workers run one engine thread, the loop all cores: sums happen in another order).
        worker = _audio(store, result)
        assert worker.shape == sequential.samples.shape, result.line.line_id
        assert np.allclose(worker, sequential.samples, atol=1e-4), result.line.line_id


def test_rerun_hits_the_cache_and_an_edit_misses_exactly_once(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    first = synthesize(sheet(MIXED), catalog, "t", settings, store, client=dask_client)
    assert first.count("synthesized") == len(MIXED)
    again = synthesize(sheet(MIXED), catalog, "t", settings, store, client=None)  # no client: must not need one
    assert (again.count("cached"), again.count("synthesized"), again.workers) == (len(MIXED), 0, 0)
    edited = [row if row[0] != "en-2" else ("en-2", "The tide is turning now.", "") for row in MIXED]
    third = synthesize(sheet(edited), catalog, "t", settings, store, client=dask_client)
    assert [r.line.line_id for r in third.results if r.status == "synthesized"] == ["en-2"]
    forced = synthesize(sheet(MIXED), catalog, "t", settings, store, client=dask_client, force=True)
    assert forced.count("synthesized") == len(MIXED)
    cached = {r.line.line_id: r.key for r in again.results}
    assert cached == {r.line.line_id: r.key for r in forced.results}  # --force rewrites the same keys


def test_failures_are_retried_reported_and_do_not_stop_the_run(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    rows = [("ok-1", "fine words", "faulty"), ("boom", "BOOM goes the line", "faulty"),
            ("nan", "NAN once", "faulty"), ("hush", "HUSH now", "faulty"), ("ok-2", "more fine words", "faulty"),
            ("ghost", "who am I", "no-such-voice")]  # fmt: skip
    report = synthesize(sheet(rows), catalog, "t", settings, store, client=dask_client)
    by_id = {r.line.line_id: r for r in report.results}
    assert {k for k, r in by_id.items() if r.status == "synthesized"} == {"ok-1", "ok-2", "nan"}
    boom = by_id["boom"]
    assert boom.status == "failed" and boom.attempts == settings.synthesis.retries + 1
    assert "cannot say 'BOOM goes the line'" in boom.error
    assert by_id["hush"].status == "failed" and "silent audio" in by_id["hush"].error
    assert by_id["ghost"].status == "failed" and "no-such-voice" in by_id["ghost"].error
    assert any("NaN" in w for w in by_id["nan"].clip.warnings)  # re-seeded, and says so
    assert not store.exists("staging", keys.cache_key(boom.job.cache_key))  # nothing is cached for a failure
    assert report.summary().endswith(f"3 failed in {report.wall_seconds:.1f} s")


def test_a_worker_killed_mid_run_loses_no_line(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    rows = [(f"slow-{n}", f"SLOW line number {n}", "faulty") for n in range(12)]
    pids = dask_client.run(os.getpid)
    killed: list[int] = []

    def kill_a_busy_worker(result: LineResult) -> None:
        if killed:
            return
        busy = [w for w, tasks in dask_client.processing().items() if tasks and w in pids]
        if busy:  # a worker with a task in flight: killing it loses that task, which must run again elsewhere
            killed.append(pids[busy[0]])
            os.kill(killed[0], signal.SIGKILL)

    report = synthesize(sheet(rows), catalog, "t", settings, store, client=dask_client, progress=kill_a_busy_worker)
    assert killed
    assert report.count("synthesized") == 12, report.summary()
    dask_client.wait_for_workers(2, timeout=60)  # the nanny brought the worker back
    assert killed[0] not in dask_client.run(os.getpid).values()


CLIENT = """
import json, sys
from pathlib import Path
from pipeline.compute.fanout import synthesize
from pipeline.scripts.ingest import ingest_text
from pipeline.settings import Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import load_catalog

data = json.loads(Path(sys.argv[1]).read_text())
data.pop("storage")  # from the DUBFLOW_S3_* environment: a dump masks the secret key
settings = Settings(**data)
store = ObjectStore.from_settings(settings.storage)
catalog = load_catalog(settings.voices_file)
lines = ingest_text(Path(sys.argv[2]).read_text(), "s1.csv", settings.ingest).lines
synthesize(lines, catalog, "t", settings, store, progress=lambda r: print(r.status, r.line.line_id, flush=True))
"""


def test_a_client_killed_mid_run_loses_nothing_on_rerun(
    dask_client,
    store: ObjectStore,
    settings: Settings,
    catalog: Catalog,
    sheet: Callable[..., list[Line]],
    tmp_path,
    s3_env,
) -> None:
    import csv
    import io
    import subprocess
    import sys

    rows = [(f"slow-{n}", f"SLOW words number {n}", "faulty") for n in range(10)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([("line_id", "text", "voice"), *rows])
    (tmp_path / "s1.csv").write_text(buffer.getvalue())
    external = settings.model_copy(
        update={
            "dask": settings.dask.model_copy(
                update={
                    "mode": "external",
                    "external": ExternalClusterSettings(scheduler_address=dask_client.scheduler.address),
                }
            )
        }
    )
    (tmp_path / "settings.json").write_text(external.model_dump_json())
    env = {**os.environ, **s3_env, "DUBFLOW_S3_BUCKET_PREFIX": store.settings.bucket_prefix}
    child = subprocess.Popen([sys.executable, "-c", CLIENT, str(tmp_path / "settings.json"), str(tmp_path / "s1.csv")],
                             stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert child.stdout is not None
    done = [child.stdout.readline() for _ in range(3)]
    child.kill()
    child.wait(timeout=30)
    assert all(line.startswith("synthesized") for line in done), done
    rerun = synthesize(sheet(rows), catalog, "t", settings, store, client=dask_client)
    assert rerun.count("failed") == 0 and rerun.count("cached") >= 3, rerun.summary()
    assert rerun.count("cached") + rerun.count("synthesized") == 10


def test_gpu_lines_fail_fast_on_a_cluster_without_gpu_workers(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    rows = [("g-1", "needs a GPU", "gpu-voice"), ("c-1", "a CPU line", "faulty")]
    report = synthesize(sheet(rows), catalog, "t", settings, store, client=dask_client)
    by_id = {r.line.line_id: r for r in report.results}
    assert by_id["c-1"].status == "synthesized"
    assert by_id["g-1"].status == "failed" and "needs a GPU worker" in by_id["g-1"].error
