"""The embedded server: loopback only, stopped by PID, restartable, and the store rides out a restart."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from pipeline.settings import RetrySettings, StorageSettings
from pipeline.storage.errors import StorageUnavailableError
from pipeline.storage.local_server import LocalS3Server
from pipeline.storage.store import ObjectStore

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DUBFLOW_S3_ENDPOINT")), reason="not checked: the suite runs against an external S3 server"
)


def _listening_addresses(pid: int) -> set[str]:
    """Local addresses of the LISTEN sockets owned by ``pid`` (from /proc: no extra tools)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:
                found.add(fields[1].split(":")[0])
    return found


def _store(server: LocalS3Server, retry: RetrySettings) -> ObjectStore:
    settings = StorageSettings(local={"data_dir": server.data_dir}, retry=retry, connect_timeout=1, read_timeout=5)
    store = ObjectStore.from_settings(settings)
    store.ensure_buckets()
    return store


def test_binds_loopback_only_and_keeps_secrets_private(local_s3_server: LocalS3Server) -> None:
    status = local_s3_server.status()
    assert status.running and status.pid is not None
    addresses = _listening_addresses(status.pid)
    assert addresses == {"0100007F"}, f"weed listens on {addresses}; only 127.0.0.1 is allowed"
    for secret in (local_s3_server.credentials_file, local_s3_server.identities_file):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_stop_by_pid_restart_keeps_data_and_credentials(tmp_path: Path) -> None:
    server = LocalS3Server(tmp_path / "s3", s3_port=0)
    first = server.start()
    store = _store(server, RetrySettings(attempts=2, initial_wait=0.05, max_wait=0.1))
    store.put_bytes("assets", "p/s/v1/en/a.wav", b"kept")
    assert server.start().pid == first.pid  # start on a running server returns it
    assert server.stop() is True
    assert not server.status().running and not server.credentials_file.exists()
    assert server.stop() is False
    second = server.start()
    assert second.endpoint == first.endpoint and second.pid != first.pid
    assert _store(server, RetrySettings()).get_bytes("assets", "p/s/v1/en/a.wav") == b"kept"
    server.stop()


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    server = LocalS3Server(tmp_path / "s3", s3_port=0)
    server.data_dir.mkdir(parents=True)
    server.pid_file.write_text(str(os.getpid()))  # a live process that is not our weed
    assert not server.status().running
    assert server.stop() is False  # and we are still here to assert it


def test_upload_survives_a_server_restart(tmp_path: Path) -> None:
    server = LocalS3Server(tmp_path / "s3", s3_port=0)
    server.start()
    store = _store(server, RetrySettings(attempts=30, initial_wait=0.1, max_wait=0.5))
    server.stop()
    restarter = threading.Timer(1.5, server.start)
    restarter.start()
    try:
        store.put_bytes("assets", "p/s/v1/en/late.wav", b"made it")
    finally:
        restarter.join()
    assert store.retries > 0, "the upload should have failed at least once while the server was down"
    assert store.get_bytes("assets", "p/s/v1/en/late.wav") == b"made it"
    server.stop()


def test_gives_up_with_a_clear_error_when_the_server_stays_down(tmp_path: Path) -> None:
    server = LocalS3Server(tmp_path / "s3", s3_port=0)
    server.start()
    store = _store(server, RetrySettings(attempts=3, initial_wait=0.05, max_wait=0.1))
    server.stop()
    started = time.monotonic()
    with pytest.raises(
        StorageUnavailableError, match=r"cannot reach S3 server http://127\.0\.0\.1:.* after 3 attempts"
    ):
        store.put_bytes("assets", "x", b"x")
    assert store.retries == 2 and time.monotonic() - started < 10
