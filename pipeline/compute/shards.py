"""Which GPU workers may speak a line: the shard of its voice or project (``voices.plan.shard_for``) as a Dask
worker resource.

Pinning is one-sided: a pinned project's GPU lines wait for its own workers, while unpinned work may still use
every GPU worker, so the rest of the studio always has the GPUs the pinned project cannot touch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def task_resources(gpu: bool, shard: str | None) -> dict[str, float] | None:
    if not gpu:
        return None
    return {"GPU": 1, shard: 1} if shard else {"GPU": 1}


def missing_resources(needed: Iterable[dict[str, float] | None], workers: Mapping[str, Any]) -> list[str]:
    """Resources some task asks for and no connected worker offers: such tasks would wait forever."""
    offered = {name for info in workers.values() for name in (info.get("resources") or {})}
    return sorted({name for resources in needed if resources for name in resources} - offered - {"GPU"})
