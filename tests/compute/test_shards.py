"""GPU lines of a pinned project or voice run only on the GPU workers that offer its resource (dask.shards)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pipeline.compute.fanout import synthesize
from pipeline.scripts.model import Line
from pipeline.settings import Settings, ShardSettings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from pipeline.voices.plan import shard_for


@pytest.fixture(scope="module")
def sharded_client() -> Iterator[object]:
    """Two GPU-resource workers (no GPU is used: the test engine only declares it needs one), one of them in the
    ``bulk`` shard, and one CPU worker."""
    from distributed import Client, Nanny, Scheduler, SpecCluster

    from pipeline.compute.cluster import PARENT_WATCH

    def worker(resources: dict[str, float]) -> dict:
        return {"cls": Nanny, "options": {"nthreads": 1, "host": "127.0.0.1", "resources": resources,
                                          "memory_limit": "3GiB", "preload": [PARENT_WATCH]}}  # fmt: skip

    cluster = SpecCluster(
        scheduler={"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}},
        workers={"gpu-bulk": worker({"GPU": 1, "bulk": 1}), "gpu-free": worker({"GPU": 1}), "cpu": worker({})},
        silence_logs=40,
    )
    client = Client(cluster)
    client.wait_for_workers(3, timeout=120)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def worker_names(client) -> dict[str, str]:
    return {address: info["name"] for address, info in client.scheduler_info()["workers"].items()}


def test_rules_voice_before_project() -> None:
    shards = [ShardSettings(resource="bulk", projects=["big"]), ShardSettings(resource="vip", voices=["star"])]
    assert shard_for(shards, "big", "star") == "vip"
    assert shard_for(shards, "big", "narrator") == "bulk"
    assert shard_for(shards, "small", "narrator") is None


def test_a_pinned_project_runs_only_on_its_gpu_workers(
    sharded_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    pinned = settings.model_copy(update={"dask": settings.dask.model_copy(
        update={"shards": [ShardSettings(resource="bulk", projects=["t"])]})})  # fmt: skip
    rows = [(f"g-{i}", f"gpu line number {i}", "gpu-voice") for i in range(8)] + [("c-1", "a CPU line", "faulty")]
    report = synthesize(sheet(rows), catalog, "t", pinned, store, client=sharded_client)
    names = worker_names(sharded_client)
    by_id = {r.line.line_id: r for r in report.results}
    assert all(r.status == "synthesized" for r in report.results), report.summary()
    assert {names[by_id[f"g-{i}"].clip.worker] for i in range(8)} == {"gpu-bulk"}
    # unpinned, the same lines may use both GPU workers: eight lines in batches of two spread over them
    free = synthesize(sheet(rows, script_id="s2"), catalog, "t", settings, store, client=sharded_client, force=True)
    assert {names[r.clip.worker] for r in free.results if r.line.line_id.startswith("g-")} == {"gpu-bulk", "gpu-free"}


def test_a_shard_no_worker_offers_fails_its_lines_at_once(
    sharded_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    ghost = settings.model_copy(update={"dask": settings.dask.model_copy(
        update={"shards": [ShardSettings(resource="ghost", voices=["gpu-voice"])]})})  # fmt: skip
    rows = [("g-1", "needs the ghost shard", "gpu-voice"), ("c-1", "a CPU line", "faulty")]
    report = synthesize(sheet(rows), catalog, "t", ghost, store, client=sharded_client)
    by_id = {r.line.line_id: r for r in report.results}
    assert by_id["c-1"].status == "synthesized"
    assert by_id["g-1"].status == "failed" and "resource ghost" in by_id["g-1"].error
    assert "GPU=1,ghost=1" in by_id["g-1"].error
