"""The worker plugin: each Dask worker loads the run's engines once and opens the object store once.

Registered with ``client.register_plugin``, so a worker that the nanny restarts (killed, out of memory) sets
itself up again before it takes tasks. Set-up also makes the pipeline's per-line log events visible on the worker
(``pipeline.events``); its metrics (``pipeline.metrics``) are served by the worker's own HTTP server at ``/metrics``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from distributed import WorkerPlugin, get_worker

from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry
from pipeline.events import configure_worker_logging
from pipeline.settings import EngineSettings
from pipeline.storage.prompt_store import StagingPromptStore
from pipeline.storage.store import ObjectStore

log = logging.getLogger(__name__)

PLUGIN_PREFIX = "dubflow-engines-"


class EnginePlugin(WorkerPlugin):
    """Named after a hash of its configuration: a run with the same engines reuses the loaded ones (idempotent),
    a run with other settings registers another plugin (and the fan-out unregisters the stale one)."""

    idempotent = True

    def __init__(self, engines: EngineSettings, preload: list[str], store: ObjectStore, log_level: str) -> None:
        """``store``: this process's; each worker opens its own with the same settings and connection."""
        self.engines = engines
        self.log_level = log_level
        self.preload = preload
        self.storage = store.settings
        self.connection = connection = store.connection
        # The name changes with anything that changes what the worker holds (engines, store, credentials), not
        # with which engines this particular run preloads: registry.get() loads any other one lazily.
        secret = hashlib.sha256(connection.secret_key.encode()).hexdigest()
        settings = [engines.model_dump(mode="json"), self.storage.model_dump(mode="json")]
        identity = json.dumps([*settings, connection.url, connection.access_key, secret], sort_keys=True, default=str)
        self.name = PLUGIN_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.registry: EngineRegistry | None = None
        self.store: ObjectStore | None = None
        self.load_errors: dict[str, str] = {}
        self.uploads: ThreadPoolExecutor | None = None
        self.address = ""

    async def setup(self, worker: Any) -> None:
        # Loading models takes seconds (minutes for CosyVoice): off the event loop, so heartbeats keep flowing.
        self.address = worker.address
        configure_worker_logging(worker, self.log_level)  # per-line events to stderr and Dask's worker log
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        self.store = ObjectStore(self.connection, self.storage)
        # Engines that extract speaker prompts keep them in staging: a worker that starts later loads them.
        registry = EngineRegistry(self.engines, prompt_store=StagingPromptStore(self.store))
        for name in self.preload:
            try:
                registry.get(name)
            except EngineError as exc:  # reported per line by the tasks that need it (and retried elsewhere)
                self.load_errors[name] = str(exc)
                log.warning("worker %s: %s", self.address, exc)
        self.uploads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dubflow-upload")
        self.registry = registry

    async def teardown(self, worker: Any) -> None:
        if self.uploads is not None:
            await asyncio.to_thread(self.uploads.shutdown, wait=True)
        self.registry = None
        self.store = None


def current_plugin(name: str) -> EnginePlugin:
    """The plugin ``name`` on the worker running the calling task."""
    plugin = get_worker().plugins.get(name)
    if not isinstance(plugin, EnginePlugin) or plugin.registry is None or plugin.store is None:
        raise RuntimeError("dubflow engines are not set up on this worker (EnginePlugin not registered)")
    return plugin
