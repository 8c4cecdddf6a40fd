"""A worker process exits when the process that started it is gone.

Killing an Airflow task runner (SIGKILL, OOM, a lost node) kills the process that owns a local cluster, but its
worker processes may survive: Dask notices a dead parent through a pipe that forked siblings also hold open, and
the shutdown can hang. Orphans keep RAM (and on GPU nodes, device memory) next to the retry's new cluster. Every
worker we start loads this module as a Dask preload (``dask_setup``), in local clusters and in ``dask worker
--preload pipeline.compute.parent_watch`` alike.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

log = logging.getLogger(__name__)
POLL_S = 1.0
EXIT_CODE = 70  # EX_SOFTWARE: distinguishes this exit in a supervisor's logs


def watch_parent(poll_s: float = POLL_S) -> threading.Thread:
    """Start a daemon thread that ends this process once its parent changes (it was re-parented: orphaned)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                log.error("parent process %d is gone: this worker (pid %d) exits", parent, os.getpid())
                os._exit(EXIT_CODE)  # no cleanup to wait for: nobody is left to receive results

    thread = threading.Thread(target=watch, name="dubflow-parent-watch", daemon=True)
    thread.start()
    return thread


def dask_setup(worker: Any) -> None:
    """Dask's preload hook, run in the worker process as it starts."""
    watch_parent()
