"""The ``make airflow`` supervisor's stop, against a stand-in for ``airflow standalone`` that behaves as it does
(SIGINT stops its children and itself; SIGTERM alone would orphan them). Real standalone under the supervisor is
stopped the same way by every e2e run (tests/e2e/conftest.py), which fails when that takes more than 20 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO

STAND_IN = """\
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
def bye(*_):
    child.terminate(); child.wait(); sys.exit(0)
signal.signal(signal.SIGINT, {on_sigint})
open({ready!r}, "w").write(str(child.pid))
{body}
"""


def _start(tmp_path: Path, on_sigint: str = "bye", body: str = "while True: time.sleep(1)",
           grace: float = 30) -> tuple[subprocess.Popen[bytes], int]:  # fmt: skip
    bin_dir, ready = tmp_path / "bin", tmp_path / "ready"
    bin_dir.mkdir()
    airflow = bin_dir / "airflow"
    airflow.write_text(f"#!{sys.executable}\n" + STAND_IN.format(on_sigint=on_sigint, ready=str(ready), body=body))
    airflow.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO / "plugins")}
    argv = [sys.executable, "-m", "dubflow_airflow.standalone", "--grace", str(grace)]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (ready.is_file() and ready.read_text()) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    return proc, int(ready.read_text())


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_stops_standalone_and_its_children_at_once_not_after_the_grace(tmp_path: Path, sig: int) -> None:
    proc, child = _start(tmp_path, grace=30)
    started = time.monotonic()
    proc.send_signal(sig)
    assert proc.wait(timeout=25) == 0
    took = time.monotonic() - started
    assert took < 5, f"the supervisor took {took:.1f} s to stop a standalone that stops at once"
    assert _gone(child)
    assert f"stopping Airflow ({signal.Signals(sig).name})" in proc.stderr.read().decode()


def test_a_standalone_that_ignores_sigint_is_terminated_by_group_after_the_grace(tmp_path: Path) -> None:
    proc, child = _start(tmp_path, on_sigint="signal.SIG_IGN", grace=1)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=25) == 0
    assert 1 <= time.monotonic() - started < 10
    assert _gone(child)


def test_a_standalone_that_dies_alone_takes_its_children_along_and_its_exit_code_is_kept(tmp_path: Path) -> None:
    proc, child = _start(tmp_path, body="time.sleep(0.5); sys.exit(3)")
    assert proc.wait(timeout=25) == 3
    assert _gone(child)
