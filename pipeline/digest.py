"""sha256 of files, the one implementation: object checksums, model identities and cache keys all use it."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

_BLOCK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file that rarely changes (model weights, reference clips), remembered while size and mtime hold."""
    stat = os.stat(path)
    return _cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=1024)
def _cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(Path(path))
