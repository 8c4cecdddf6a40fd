"""Cluster specs from settings. The CUDA spec is built and checked here, but NOT run: no GPU on these machines."""

from __future__ import annotations

import pytest

from pipeline.compute.cluster import ClusterError, cluster_spec, resolve_mode, start_cluster, visible_gpus
from pipeline.settings import DaskSettings


def test_local_spec_splits_cores_between_workers() -> None:
    spec = cluster_spec(DaskSettings(mode="local", workers=2, memory_limit="3GiB"), gpus=[], cores=8)
    assert spec.factory == "distributed.LocalCluster" and spec.workers == 2 and spec.engine_threads == 4
    assert spec.kwargs["n_workers"] == 2 and spec.kwargs["threads_per_worker"] == 1
    assert spec.kwargs["memory_limit"] == "3GiB" and spec.kwargs["host"] == "127.0.0.1"
    assert spec.kwargs["dashboard_address"] == "127.0.0.1:0"
    default = cluster_spec(DaskSettings(mode="local"), gpus=[], cores=2)
    assert (default.workers, default.engine_threads) == (2, 1)


def test_cuda_spec_is_one_worker_per_gpu_with_a_gpu_resource() -> None:
    """Not run on a GPU (there is none here): this pins the arguments LocalCUDACluster receives."""
    settings = DaskSettings(mode="cuda", cuda={"device_memory_limit": "14GB", "rmm_pool_size": "12GB"})
    spec = cluster_spec(settings, gpus=[0, 1, 2, 3], cores=32)
    assert spec.factory == "dask_cuda.LocalCUDACluster" and spec.gpu
    assert spec.kwargs["CUDA_VISIBLE_DEVICES"] == "0,1,2,3" and spec.kwargs["n_workers"] == 4
    assert spec.kwargs["resources"] == {"GPU": 1} and spec.kwargs["threads_per_worker"] == 1
    assert spec.kwargs["device_memory_limit"] == "14GB" and spec.kwargs["rmm_pool_size"] == "12GB"
    assert spec.engine_threads == 8
    pinned = cluster_spec(DaskSettings(mode="cuda", cuda={"visible_devices": [2]}), gpus=[0, 1, 2, 3])
    assert pinned.kwargs["CUDA_VISIBLE_DEVICES"] == "2" and pinned.workers == 1
    with pytest.raises(ClusterError, match="no GPU is visible"):
        cluster_spec(DaskSettings(mode="cuda"), gpus=[])


def test_lines_per_gpu_gives_each_gpu_worker_that_many_gpu_slots_and_threads() -> None:
    spec = cluster_spec(DaskSettings(mode="cuda", cuda={"lines_per_gpu": 2}), gpus=[0, 1], cores=16)
    assert spec.kwargs["resources"] == {"GPU": 2} and spec.kwargs["threads_per_worker"] == 2
    assert spec.kwargs["n_workers"] == 2  # still one worker (one model) per GPU


def test_starting_cuda_without_dask_cuda_is_a_clear_error() -> None:
    try:
        import dask_cuda  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("not checked: dask_cuda is importable here, so the missing-package error cannot be shown")
    with pytest.raises(ClusterError, match="dask_cuda cannot be imported"):
        start_cluster(cluster_spec(DaskSettings(mode="cuda"), gpus=[0]))


def test_modes() -> None:
    assert resolve_mode(DaskSettings(), gpus=[]) == "local"
    assert resolve_mode(DaskSettings(), gpus=[0]) == "cuda"
    assert resolve_mode(DaskSettings(external={"scheduler_address": "tcp://10.0.0.5:8786"}), gpus=[0]) == "external"
    external = cluster_spec(DaskSettings(mode="external", external={"scheduler_address": "tls://s:8786"}))
    assert external.address == "tls://s:8786" and start_cluster(external) is None
    with pytest.raises(ClusterError, match="scheduler_address is not set"):
        cluster_spec(DaskSettings(mode="external"))


def test_visible_gpus_follows_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,3")
    assert visible_gpus() == [1, 3]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []


def test_a_local_cluster_keeps_dasks_lifecycle_lines_out_of_the_callers_log(caplog: pytest.LogCaptureFixture) -> None:
    """In an Airflow task, records reach the task log through the root handlers: Dask's INFO about its scheduler,
    workers and clients (~60 lines a task) buried the lines' own events. A warning still gets through."""
    import logging

    from pipeline.compute.cluster import open_client
    from pipeline.settings import DaskSettings

    caplog.set_level(logging.INFO)
    dask_logger = logging.getLogger("distributed")
    before = dask_logger.level
    dask_logger.setLevel(logging.NOTSET)  # as in a fresh task process
    try:
        with open_client(DaskSettings(mode="local", workers=1, engine_threads=1)) as client:
            client.submit(sum, [1, 2]).result()
            logging.getLogger("distributed.test").warning("still shown")
    finally:
        dask_logger.setLevel(before)
    dask = [r for r in caplog.records if r.name.startswith("distributed")]
    assert [r.getMessage() for r in dask] == ["still shown"], [r.getMessage() for r in dask][:10]


def test_a_shared_cluster_serves_every_run_in_the_block_and_is_gone_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """``make demo``'s voicing runs share one cluster: settings loaded in the block name it, nothing after does."""
    from distributed import Client

    from pipeline.compute.cluster import open_client, shared_cluster
    from pipeline.settings import load_settings

    monkeypatch.setenv("DUBFLOW_DASK__ENGINE_THREADS", "3")  # restored to this, not dropped
    with shared_cluster(DaskSettings(mode="local", workers=1, engine_threads=1)) as address:
        assert address is not None and address.startswith("tcp://127.0.0.1:")
        inside = load_settings().dask
        assert (inside.mode, inside.external.scheduler_address, inside.engine_threads) == ("external", address, 1)
        for _ in range(2):  # two runs, one cluster: each client finds the same worker
            with open_client(inside) as client:
                assert len(client.scheduler_info()["workers"]) == 1
    after = load_settings().dask
    assert (after.mode, after.external.scheduler_address, after.engine_threads) == ("auto", None, 3)
    with pytest.raises(OSError):  # the scheduler it started is closed
        Client(address, timeout="2s")
    external = DaskSettings(mode="external", external={"scheduler_address": "tcp://127.0.0.1:1"})
    with shared_cluster(external) as nothing:
        assert nothing is None and load_settings().dask.mode == "auto"  # an external scheduler: nothing started
