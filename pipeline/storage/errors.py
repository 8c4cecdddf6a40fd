"""Errors the storage layer raises, so callers can tell "try again later" from "fix your setup"."""

from __future__ import annotations


class StorageError(RuntimeError):
    """A permanent object-store failure: wrong credentials, missing bucket, refused operation."""


class StorageUnavailableError(StorageError):
    """The server kept failing transiently (connection refused/reset, 5xx, SlowDown) until retries ran out."""


class NotConfiguredError(StorageError):
    """No endpoint configured and no embedded server running."""


class VersionConflictError(StorageError):
    """A published version is immutable; different content for it is refused."""
