"""The embedded S3 server has one door, the S3 port, and it opens only to signed requests.

SeaweedFS's own ports (master, volume, filer, admin; HTTP and gRPC) answer without credentials — the master's
``/col/delete`` drops a bucket — so they live in a network namespace of the server's own (``s3_gateway``). This
checks it from the outside, as another local process would: every TCP port the server's processes listen on, every
port weed was told to use, every unix socket it made, and unsigned reads, writes and listings on the one port left.
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import urllib3
from minio import Minio

from pipeline.storage.local_server import LocalS3Server
from pipeline.storage.store import read_env_file


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3Server]:
    required = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    server = LocalS3Server(tmp_path_factory.mktemp("doors") / "s3", s3_port=0,
                           isolation="required" if required else "auto")  # fmt: skip
    server.start()
    try:
        if not server.isolation_status()["isolated"]:
            pytest.skip(f"not checked: {server.isolation_status()['detail']} (no user namespaces here); in CI it fails")
        yield server
    finally:
        server.stop()


def _endpoint(server: LocalS3Server) -> str:
    return read_env_file(server.credentials_file)["DUBFLOW_S3_ENDPOINT"]


def _listening(pid: int) -> set[int]:
    ports: set[int] = set()
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        with_inet = proc.net_connections(kind="inet")  # the host's network namespace, as seen from here
        ports |= {c.laddr.port for c in with_inet if c.status == psutil.CONN_LISTEN}
    return ports


def test_the_s3_port_is_the_only_port_open_on_this_machine(server: LocalS3Server) -> None:
    status = server.status()
    assert status.running and status.pid is not None
    s3_port = int(_endpoint(server).rsplit(":", 1)[1])
    assert _listening(status.pid) == {s3_port}
    weeds = [p for p in psutil.Process(status.pid).children(recursive=True) if p.name() == "weed"]
    assert len(weeds) == 1
    assert not [c for c in weeds[0].net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def test_the_ports_weed_was_given_refuse_connections_from_outside(server: LocalS3Server) -> None:
    ports = json.loads(server.ports_file.read_text())
    assert len(ports) == 10  # master, volume, filer, s3, admin × (HTTP, gRPC)
    for name, port in ports.items():
        if name == "s3.port":
            continue  # the gateway relays this number to weed's S3 socket
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


def test_no_unix_socket_of_the_server_is_open_to_other_users(server: LocalS3Server) -> None:
    ports = {str(p) for p in json.loads(server.ports_file.read_text()).values()}
    sockets = [p for p in Path("/tmp").glob("seaweedfs-*.sock") if p.stem.rsplit("-", 1)[-1] in ports]
    sockets += [p for p in (server.data_dir / "run").glob("*.sock")]
    assert len(sockets) >= 2
    for path in sockets:  # connecting to a unix socket needs write permission on it, or on no folder above
        mode = path.stat().st_mode
        private_dir = stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
        assert private_dir or mode & 0o022 == 0, f"{path} is connectable by other users ({oct(mode)})"
    if os.getuid() == 0:  # prove it as an unprivileged user (nobody), not only by reading modes
        probe = "import socket,sys\nfor p in sys.argv[1:]:\n  s=socket.socket(socket.AF_UNIX)\n  try: s.connect(p); print('OPEN', p)\n  except OSError as e: print('refused', e.errno)"
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-I", "-c",
                              probe, *map(str, sockets)], capture_output=True, text=True, timeout=30)  # fmt: skip
        assert "OPEN" not in out.stdout and out.stdout.count("refused") == len(sockets), out.stdout + out.stderr


def test_unsigned_reads_writes_and_listings_are_refused(server: LocalS3Server) -> None:
    env = read_env_file(server.credentials_file)
    endpoint = env["DUBFLOW_S3_ENDPOINT"]
    client = Minio(endpoint, env["DUBFLOW_S3_ACCESS_KEY"], env["DUBFLOW_S3_SECRET_KEY"], secure=False)
    client.make_bucket("doors")
    client.put_object("doors", "secret.wav", io.BytesIO(b"private bytes"), 13)
    http = urllib3.PoolManager(retries=False, timeout=5)
    for method, path, body in [
        ("GET", "/", None),  # list buckets
        ("GET", "/doors?list-type=2", None),  # list objects
        ("GET", "/doors/secret.wav", None),  # read
        ("HEAD", "/doors/secret.wav", None),
        ("PUT", "/doors/injected.wav", b"evil"),  # write
        ("DELETE", "/doors/secret.wav", None),
        ("POST", "/doors?delete", b"<Delete><Object><Key>secret.wav</Key></Object></Delete>"),
    ]:
        answer = http.request(method, f"http://{endpoint}{path}", body=body)
        assert answer.status == 403, (method, path, answer.status, answer.data[:200])
    wrong = Minio(endpoint, env["DUBFLOW_S3_ACCESS_KEY"], "not-the-secret", secure=False)
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        wrong.list_buckets()
    assert client.get_object("doors", "secret.wav").read() == b"private bytes"
    assert [o.object_name for o in client.list_objects("doors")] == ["secret.wav"]


def test_stop_refuses_new_requests_at_once_and_finishes_in_seconds(tmp_path: Path) -> None:
    import threading
    import time

    server = LocalS3Server(tmp_path / "s3", s3_port=0)
    server.start()
    env = read_env_file(server.credentials_file)
    host, port = env["DUBFLOW_S3_ENDPOINT"].rsplit(":", 1)
    client = Minio(env["DUBFLOW_S3_ENDPOINT"], env["DUBFLOW_S3_ACCESS_KEY"], env["DUBFLOW_S3_SECRET_KEY"], secure=False)
    client.make_bucket("busy")
    uploading = threading.Event()

    def upload_forever() -> None:
        n = 0
        while True:
            try:
                client.put_object("busy", f"k{n}", io.BytesIO(b"x" * 1000), 1000)
            except Exception:
                return
            uploading.set()
            n += 1

    threading.Thread(target=upload_forever, daemon=True).start()
    assert uploading.wait(30)
    stopping = threading.Thread(target=server.stop)
    started = time.monotonic()
    stopping.start()
    refused_after = None
    while time.monotonic() - started < 10:
        try:
            socket.create_connection((host, int(port)), timeout=0.2).close()
        except OSError:
            refused_after = time.monotonic() - started
            break
        time.sleep(0.02)
    stopping.join(30)
    took = time.monotonic() - started
    assert refused_after is not None and refused_after < 1.0, refused_after  # no new request gets in
    assert not stopping.is_alive() and took < 10, took
    assert not server.status().running
