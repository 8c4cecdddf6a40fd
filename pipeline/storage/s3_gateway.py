"""The embedded S3 server's supervisor: SeaweedFS in a network namespace of its own, S3 the only way in.

``weed mini`` runs a master, a volume server, a filer, an admin server and the S3 gateway, each with HTTP and
gRPC ports, and most of them answer without credentials (the master's ``/col/delete`` drops a bucket's data; the
filer serves and accepts any object). So weed runs in a private network namespace, where none of its ports exist
for anyone else, and this process relays one loopback TCP port to the S3 gateway's unix socket: the S3 API, which
checks every request's signature, is the only thing another local user or process can reach.

A user namespace makes this work without root where the kernel allows unprivileged ones (most Linux systems);
where it does not, ``isolation: auto`` runs weed on loopback as before and says so, ``required`` refuses to start.
On SIGTERM the listening port closes at once (new requests are refused), open connections get a moment to finish,
then weed is stopped.

    python -m pipeline.storage.s3_gateway --listen 127.0.0.1:8333 --socket run/s3.sock --status isolation.json \\
        --log weed.log --isolation auto -- weed mini …
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from pipeline.processes import terminate

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
DRAIN_SECONDS = 1.0  # open connections may finish for this long after the port closed
STOP_SECONDS = 10.0  # then weed gets this long to shut down before it is killed
CHUNK = 256 * 1024


def isolate() -> None:
    """Move this process into a new network namespace (and, unless root, a user namespace mapping only our own
    uid and gid), and bring its loopback up. Raises OSError where the kernel refuses."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET if uid == 0 else CLONE_NEWUSER | CLONE_NEWNET
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare: {os.strerror(errno)}")
    if flags & CLONE_NEWUSER:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        current = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", current | IFF_UP))


def _start_weed(command: list[str], log: Path, isolation: str) -> tuple[int, str]:
    """Fork weed (isolated when possible); returns its pid and how it was isolated."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: isolate, report, become weed
        os.close(read_end)
        try:
            isolate()
            outcome = "isolated"
        except OSError as exc:
            outcome = f"not isolated: {exc.strerror or exc}"
        os.write(write_end, outcome.encode())
        os.close(write_end)
        if outcome != "isolated" and isolation == "required":
            os._exit(3)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execv(command[0], command)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode() or "weed failed to start"
    return pid, outcome


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other side may still answer
    except (ConnectionError, OSError):
        writer.close()


async def _relay(listen: tuple[str, int], target: str, weed: int) -> None:
    connections: set[asyncio.Task[None]] = set()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(target)
        except OSError:  # weed not up yet (or gone): the client sees a closed connection and retries
            writer.close()
            return
        try:
            await asyncio.gather(_pump(reader, upstream_writer), _pump(upstream_reader, writer))
        finally:
            writer.close()
            upstream_writer.close()

    def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = loop.create_task(handle(reader, writer))
        connections.add(task)
        task.add_done_callback(connections.discard)

    server = await asyncio.start_server(track, listen[0], listen[1], reuse_address=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    threading.Thread(target=_watch_child, args=(weed, loop, stopping), daemon=True).start()
    await stopping.wait()
    server.close()  # refuse new connections from this moment
    if connections:
        _, pending = await asyncio.wait(connections, timeout=DRAIN_SECONDS)
        for task in pending:
            task.cancel()


def _watch_child(pid: int, loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    with contextlib.suppress(RuntimeError):  # the loop is already gone: we are stopping anyway
        loop.call_soon_threadsafe(stopping.set)


def _remove_stale_sockets(command: list[str]) -> None:
    """weed leaves /tmp/seaweedfs-<component>-grpc-<port>.sock behind: remove the ones for this server's ports."""
    ports = {arg.split("=", 1)[1] for arg in command if arg.startswith("-") and ".port" in arg and "=" in arg}
    for path in Path("/tmp").glob("seaweedfs-*.sock"):
        if path.stem.rsplit("-", 1)[-1] in ports and path.stat().st_uid == os.getuid():
            with contextlib.suppress(OSError):
                path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT for S3 on this machine")
    parser.add_argument("--socket", required=True, type=Path, help="weed's S3 unix socket (-s3.localSocket)")
    parser.add_argument("--status", required=True, type=Path, help="where to record how weed was isolated")
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--isolation", choices=("auto", "required"), default="auto")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    host, _, port = args.listen.rpartition(":")
    weed, outcome = _start_weed(command, args.log, args.isolation)
    isolated = outcome == "isolated"
    args.status.write_text(json.dumps({"isolated": isolated, "detail": outcome, "weed_pid": weed}))
    if not isolated and args.isolation == "required":
        print(f"s3 gateway: {outcome}; isolation is required", file=sys.stderr)
        return 3
    try:
        if isolated:
            asyncio.run(_relay((host, int(port)), str(args.socket), weed))
        else:  # weed serves S3 on the port itself: only wait for it, or for our own stop signal
            signal.signal(signal.SIGTERM, lambda *_: terminate(weed, STOP_SECONDS))
            with contextlib.suppress(ChildProcessError):
                os.waitpid(weed, 0)
    finally:
        started = time.monotonic()
        terminate(weed, STOP_SECONDS)
        _remove_stale_sockets(command)
        print(f"s3 gateway: weed stopped in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
