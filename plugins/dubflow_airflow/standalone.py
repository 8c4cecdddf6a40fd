"""``make airflow``: ``airflow standalone`` that leaves nothing behind however it is stopped.

Airflow's standalone shuts its scheduler, API server, DAG processor, triggerer and executor workers down cleanly on
SIGINT, but on SIGTERM (``kill``, a terminal closing, a process manager) it exits alone and orphans them. This
supervisor runs it in a process group of its own and turns SIGTERM (and SIGINT, SIGHUP) into SIGINT for standalone;
whatever is still alive after the grace period gets SIGTERM, then SIGKILL, by process group.

    python -m dubflow_airflow.standalone [--grace 30] [--airflow-home var/airflow --postgres var/postgres --port N]

With ``--airflow-home``, it first prepares the local Airflow of ``make airflow`` (``local_airflow.prepare``: the
Postgres in ``--postgres``, migrated, with the synthesis pool) and stops that Postgres after Airflow.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, though no longer ours to signal
        pass
    return True


def stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGINT to standalone; after ``grace`` seconds SIGTERM to its group, after 10 more SIGKILL."""
    pgid = proc.pid
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    for sig, wait in ((None, grace), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and (proc.poll() is None or _group_alive(pgid)):
            time.sleep(0.2)
        if proc.poll() is not None and not _group_alive(pgid):
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grace", type=float, default=30.0, help="seconds standalone gets to stop on SIGINT")
    parser.add_argument("--airflow-home", type=Path, help="prepare this home on the local Postgres first")
    parser.add_argument("--postgres", type=Path, default=Path("var/postgres"), help="the local Postgres's folder")
    parser.add_argument("--port", type=int, default=8080, help="the UI's port (with --airflow-home)")
    args = parser.parse_args(argv)
    database = None
    if args.airflow_home is not None:
        from dubflow_airflow.local_airflow import prepare

        home = args.airflow_home.absolute()
        database = prepare(home, args.port, args.postgres.absolute())
        passwords = home / "simple_auth_manager_passwords.json.generated"
        print(f"Airflow: http://127.0.0.1:{args.port}, user admin; password in {passwords} (written on first start)")
    try:
        return _supervise(args.grace)
    finally:
        if database is not None:
            database.stop_if_started()


def _supervise(grace: float) -> int:
    airflow = shutil.which("airflow") or os.path.join(os.path.dirname(sys.executable), "airflow")
    proc = subprocess.Popen(
        [airflow, "standalone"],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own group: the terminal's Ctrl-C reaches it through us, once
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job ignores SIGINT
    )
    stopping: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        # Only note it: the stop runs in the loop below. Run here, inside the handler that interrupted
        # ``proc.wait()``, ``proc.poll()`` could not reap standalone (wait holds Popen's lock), so every stop
        # waited out the whole grace period on standalone's zombie.
        if not stopping:
            stopping.append(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    while proc.poll() is None and not stopping:
        time.sleep(0.2)
    if stopping:
        print(f"dubflow: stopping Airflow ({stopping[0]})", file=sys.stderr, flush=True)
    stop(proc, grace if stopping else 0)  # standalone died on its own: take its group with it
    return 0 if stopping else (proc.returncode or 0)


if __name__ == "__main__":
    sys.exit(main())
