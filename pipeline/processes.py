"""Stopping a process we started, and only that one: SIGTERM, a grace period, then SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from contextlib import suppress


def terminate(pid: int, timeout: float = 20.0, still_ours: Callable[[], bool] = lambda: True) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds (reaping it when it is our child), then SIGKILL it unless
    ``still_ours()`` says the PID was recycled meanwhile."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our child: reaped
                return
        except ChildProcessError:  # not our child: probe it
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    if still_ours():  # never SIGKILL a PID that was recycled while we waited
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with suppress(ChildProcessError):
            os.waitpid(pid, 0)
