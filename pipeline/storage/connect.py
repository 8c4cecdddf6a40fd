"""The store a command uses: the configured S3 server, or the embedded one started (or reused) on loopback."""

from __future__ import annotations

from pipeline.settings import Settings
from pipeline.storage.local_server import LocalS3Server, ServerStatus
from pipeline.storage.store import ObjectStore


def connect_store(settings: Settings, start_local: bool = True) -> tuple[ObjectStore, ServerStatus | None]:
    """Returns the store (buckets ensured) and the local server's status when the embedded one is used."""
    status = None
    if not settings.storage.endpoint and start_local:
        status = LocalS3Server.from_settings(settings.storage.local).start()
    store = ObjectStore.from_settings(settings.storage)
    store.ensure_buckets()
    return store, status
