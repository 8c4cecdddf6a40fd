"""The worker plugin: each Dask worker loads the run's engines once and opens the object store once.

Registered with ``client.register_plugin``, so a worker that the nanny restarts (killed, out of memory) sets
itself up again before it takes tasks.
"""

from __future__ import annotations

import logging
from typing import Any

from distributed import WorkerPlugin, get_worker

from pipeline.engines.base import EngineError
from pipeline.engines.registry import EngineRegistry
from pipeline.settings import EngineSettings, StorageSettings
from pipeline.storage.store import Connection, ObjectStore

log = logging.getLogger(__name__)

PLUGIN_NAME = "dubflow-engines"


class EnginePlugin(WorkerPlugin):
    name = PLUGIN_NAME
    idempotent = False  # a run with other engine settings replaces the previous run's plugin

    def __init__(self, engines: EngineSettings, preload: list[str], storage: StorageSettings,
                 connection: Connection) -> None:  # fmt: skip
        self.engines = engines
        self.preload = preload
        self.storage = storage
        self.connection = connection
        self.registry: EngineRegistry | None = None
        self.store: ObjectStore | None = None
        self.load_errors: dict[str, str] = {}
        self.address = ""

    def setup(self, worker: Any) -> None:
        self.address = worker.address
        self.registry = EngineRegistry(self.engines)
        for name in self.preload:
            try:
                self.registry.get(name)
            except EngineError as exc:  # the line's fallback engines are tried; the error is reported per line
                self.load_errors[name] = str(exc)
                log.warning("worker %s: %s", worker.address, exc)
        self.store = ObjectStore(self.connection, self.storage)

    def teardown(self, worker: Any) -> None:
        self.registry = None
        self.store = None


def current_plugin() -> EnginePlugin:
    """The plugin of the worker running the calling task."""
    plugin = get_worker().plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, EnginePlugin) or plugin.registry is None or plugin.store is None:
        raise RuntimeError("dubflow engines are not set up on this worker (EnginePlugin not registered)")
    return plugin
