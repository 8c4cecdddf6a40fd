"""Which GPU workers may speak a line: the shard of its voice or project, as a Dask worker resource.

Pinning is one-sided: a pinned project's GPU lines wait for its own workers, while unpinned work may still use
every GPU worker, so the rest of the studio always has the GPUs the pinned project cannot touch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pipeline.settings import ShardSettings


def shard_for(shards: Sequence[ShardSettings], project: str, voice: str) -> str | None:
    """The resource a GPU line of ``voice`` in ``project`` needs; a voice rule wins over a project rule."""
    for rule in shards:
        if voice in rule.voices:
            return rule.resource
    for rule in shards:
        if project in rule.projects:
            return rule.resource
    return None


def task_resources(gpu: bool, shard: str | None) -> dict[str, float] | None:
    if not gpu:
        return None
    return {"GPU": 1, shard: 1} if shard else {"GPU": 1}


def missing_resources(needed: Iterable[dict[str, float] | None], workers: Mapping[str, Any]) -> list[str]:
    """Resources some task asks for and no connected worker offers: such tasks would wait forever."""
    offered = {name for info in workers.values() for name in (info.get("resources") or {})}
    return sorted({name for resources in needed if resources for name in resources} - offered - {"GPU"})
