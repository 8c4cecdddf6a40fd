"""The compose services' start commands, run for real on CPU: ``dask scheduler`` and ``dask worker`` processes on
loopback, a synthesis through them with ``dask.mode: external``, and a clean stop.

The commands are read from docker-compose.yml (the ``dask scheduler`` service, the ``dask cuda worker`` service
named gpu-0 and the ``dask worker`` CPU service), so the test follows the file. What changes for a CPU-only
machine: ``dask cuda worker`` becomes ``dask worker`` with the same flags minus dask-cuda's own
(``--device-memory-limit``), the scheduler's compose name becomes a free loopback port, every listener (scheduler,
workers, nannies, dashboards) binds to 127.0.0.1, and the CPU service runs one replica.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import yaml

from pipeline.compute.fanout import synthesize
from pipeline.scripts.model import Line
from pipeline.settings import ExternalClusterSettings, Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from tests.conftest import REPO, s3_env_vars

DASK = Path(sys.executable).with_name("dask")
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
COMPOSE_SCHEDULER = "tcp://dask-scheduler:8786"
PRELOAD = "pipeline.compute.parent_watch"
CUDA_ONLY_FLAGS = {"--device-memory-limit", "--rmm-pool-size", "--rmm-maximum-pool-size"}  # flag + value
LOOPBACK_DASHBOARD = "127.0.0.1:0"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0

ROWS = [
    ("en-1", "Good evening, harbour.", ""),  # piper
    ("zh-1", "你终于来了！", ""),  # mandarin (FastSpeech2)
    ("ek-1", "The tide is turning.", "en-espeak"),  # espeak
    ("g-1", "first line that needs a GPU", "gpu-voice"),  # the gpuonly test engine: resources GPU=1
    ("g-2", "second line that needs a GPU", "gpu-voice"),
    ("g-3", "third line that needs a GPU", "gpu-voice"),
]


def _compose_commands() -> dict[str, list[str]]:
    """The scheduler, GPU-worker and CPU-worker commands of docker-compose.yml, variables interpolated."""
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    found: dict[str, list[str]] = {}
    for name, service in services.items():
        command = service.get("command")
        if not isinstance(command, list) or not command or command[0] != "dask":
            continue
        command = [_interpolate(str(arg)) for arg in command]
        role = ("scheduler" if command[1] == "scheduler" else "gpu" if command[1:3] == ["cuda", "worker"]
                else "cpu" if command[1] == "worker" else None)  # fmt: skip
        if role == "gpu" and _flag(command, "--name") != "gpu-0":
            continue
        if role is not None:
            assert role not in found, f"two compose services run the {role} command ({name})"
            found[role] = command
    assert set(found) == {"scheduler", "gpu", "cpu"}, f"{COMPOSE_FILE.name}: dask services found: {sorted(found)}"
    return found


def _interpolate(arg: str) -> str:
    """``${NAME:-default}`` → default; ``${NAME}`` / ``${NAME:?error}`` → the value in .env.example."""
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                   if line.strip() and not line.lstrip().startswith("#") and "=" in line)  # fmt: skip

    def value(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if op.endswith("-"):
            return rest
        assert name in example, f"{name} is used by a dask command in {COMPOSE_FILE.name} but not in .env.example"
        return example[name].strip().strip("'\"")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?([^}]*)\}", value, arg)


def _flag(command: list[str], flag: str) -> str | None:
    return command[command.index(flag) + 1] if flag in command else None


def _on_loopback(command: list[str], scheduler: str, port: int) -> list[str]:
    """A compose command as this machine runs it: the venv's dask CLI, plain workers, 127.0.0.1 only (``port``:
    the scheduler's own, the one flag only it has)."""
    if command[1:3] == ["cuda", "worker"]:
        command = ["dask", *command[2:]]
    out = [str(DASK)]
    args = iter(command[1:])
    for arg in args:
        if arg in CUDA_ONLY_FLAGS:
            next(args)
        elif arg == COMPOSE_SCHEDULER:
            out.append(scheduler)
        elif arg in (
            loopback := {"--host": "127.0.0.1", "--port": str(port), "--dashboard-address": LOOPBACK_DASHBOARD}
        ):
            next(args)  # the compose value: 0.0.0.0, 8786, :8787 / :8790
            out += [arg, loopback[arg]]
        else:
            out.append(arg)
    if "--host" not in out:
        out += ["--host", "127.0.0.1"]
    if "--dashboard-address" not in out:
        out += ["--dashboard-address", LOOPBACK_DASHBOARD]
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    """Nobody listens on 127.0.0.1:port (SO_REUSEADDR: a closed socket in TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class Service:
    """One ``dask …`` command, started as the compose service would start it (own session, logs to a file)."""

    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    tree: list[psutil.Process] = field(default_factory=list)  # the command and every process it started

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip

    def snapshot(self) -> None:
        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        self.tree = [root, *root.children(recursive=True)]

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self, signum: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not exit within {STOP_TIMEOUT:.0f} s of {signal.Signals(signum).name}:\n"
                        f"{self.output()}")  # fmt: skip

    def kill_leftovers(self) -> None:
        """Test clean-up after a failure: only the processes this service started, by PID."""
        if self.proc is not None and self.proc.poll() is None:
            self.snapshot()
        for proc in self.tree:
            if _alive(proc):
                proc.kill()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.wait(timeout=10)


@dataclass
class ComposeLikeCluster:
    address: str
    scheduler: Service
    gpu: Service
    cpu: Service

    @property
    def services(self) -> list[Service]:
        return [self.scheduler, self.gpu, self.cpu]


@pytest.fixture
def cluster(tmp_path: Path, store: ObjectStore, s3_settings) -> Iterator[ComposeLikeCluster]:
    """``dask scheduler`` + a GPU-resource worker named gpu-0 + a plain CPU worker, as separate processes."""
    assert DASK.is_file(), f"no dask CLI next to {sys.executable}"
    compose = _compose_commands()
    # What the test relies on is what the compose file says: one GPU slot named gpu-0, one thread, the preload.
    gpu_flags = compose["gpu"]
    assert (_flag(gpu_flags, "--resources"), _flag(gpu_flags, "--nthreads")) == ("GPU=1", "1"), gpu_flags
    for command in (compose["gpu"], compose["cpu"]):
        assert COMPOSE_SCHEDULER in command and _flag(command, "--preload") == PRELOAD, command
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    # What the compose services get: the S3 endpoint and the pipeline's key (synthesis itself uses the connection the
    # client's engine plugin carries); and the test engines (tests.compute.faulty_engine) importable.
    env = {**os.environ, **s3_env_vars(s3_settings), "DUBFLOW_S3_BUCKET_PREFIX": store.settings.bucket_prefix,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}  # fmt: skip
    scheduler = Service("dask-scheduler", _on_loopback(compose["scheduler"], address, port), tmp_path / "sched.log")
    gpu = Service(
        "dask-cuda-worker (CPU stand-in)", _on_loopback(compose["gpu"], address, port), tmp_path / "gpu-0.log"
    )
    cpu = Service("cpu-worker", _on_loopback(compose["cpu"], address, port), tmp_path / "cpu.log")
    running = ComposeLikeCluster(address, scheduler, gpu, cpu)
    try:
        for service in running.services:
            service.start(env)
        yield running
    finally:
        for service in running.services:
            service.kill_leftovers()


def _connect(cluster: ComposeLikeCluster):  # -> distributed.Client
    from distributed import Client

    try:
        client = Client(cluster.address, timeout=f"{START_TIMEOUT:.0f}s")
        client.wait_for_workers(2, timeout=START_TIMEOUT)
    except Exception as exc:
        logs = "\n".join(f"--- {s.name} (exit {s.proc.poll() if s.proc else None})\n{s.output()}"
                         for s in cluster.services)  # fmt: skip
        pytest.fail(f"the compose-like cluster did not come up: {exc}\n{logs}")
    return client


def test_synthesis_through_the_compose_worker_commands_on_loopback(
    cluster: ComposeLikeCluster, store: ObjectStore, settings: Settings, catalog: Catalog,
    sheet: Callable[..., list[Line]],
) -> None:  # fmt: skip
    started = time.monotonic()
    client = _connect(cluster)
    try:
        info = client.scheduler_info()
        workers = info["workers"]
        by_name = {str(w["name"]): address for address, w in workers.items()}
        assert "gpu-0" in by_name, sorted(by_name)
        gpu_address = by_name["gpu-0"]
        assert workers[gpu_address]["resources"] == {"GPU": 1}
        cpu_only = [address for address, w in workers.items() if not w.get("resources")]
        assert len(cpu_only) == 1 and cpu_only[0] != gpu_address, workers
        # The preload's watch runs in every worker process (it ends a worker whose nanny is gone).
        watching = client.run(lambda: any(t.name == "dubflow-parent-watch" for t in threading.enumerate()))
        assert watching == dict.fromkeys(workers, True)
        ports = {_port(cluster.address), info["services"]["dashboard"]}
        for address, worker in workers.items():
            ports |= {_port(address), _port(worker["nanny"]), *worker.get("services", {}).values()}

        external = settings.model_copy(
            update={
                "dask": settings.dask.model_copy(
                    update={"mode": "external", "external": ExternalClusterSettings(scheduler_address=cluster.address)}
                )
            }
        )
        report = synthesize(sheet(ROWS), catalog, "t", external, store)  # client=None: opens dask.external itself
    finally:
        client.close()

    assert [r.status for r in report.results] == ["synthesized"] * len(ROWS), [
        (r.line.line_id, r.status, r.error) for r in report.results]  # fmt: skip
    assert report.workers == 2
    engines = {r.line.line_id: r.clip.engine for r in report.results}
    assert engines == {"en-1": "piper", "zh-1": "mandarin", "ek-1": "espeak",
                       "g-1": "gpuonly", "g-2": "gpuonly", "g-3": "gpuonly"}  # fmt: skip
    for result in report.results:
        assert result.clip.worker in workers, result.clip  # ran on one of the two registered workers
        if result.line.line_id.startswith("g-"):  # GPU-resource lines: only the worker started with GPU=1
            assert result.clip.worker == gpu_address, (result.line.line_id, result.clip.worker)
        assert store.stat("staging", result.key) is not None, result.key  # the worker wrote it to the store

    # Stop as `docker compose stop` does (SIGTERM) and as Ctrl-C does (SIGINT): workers first, then the scheduler.
    for service in cluster.services:
        service.snapshot()
    assert cluster.gpu.stop(signal.SIGTERM) == 0, cluster.gpu.output()
    assert cluster.cpu.stop(signal.SIGINT) == 0, cluster.cpu.output()
    assert cluster.scheduler.stop(signal.SIGTERM) == 0, cluster.scheduler.output()
    processes = [proc for service in cluster.services for proc in service.tree]
    _, leftovers = psutil.wait_procs(processes, timeout=STOP_TIMEOUT)
    leftovers = [proc for proc in leftovers if _alive(proc)]
    assert not leftovers, [(p.pid, p.cmdline()) for p in leftovers]
    assert [port for port in sorted(ports) if not _port_free(port)] == []
    assert time.monotonic() - started < 45, "the compose-like cluster is too slow for the suite"
