"""Reviewer retakes in planning and fan-out: take 0 keeps every existing seed and cache key; a retake gets its own
seed, key and (for Piper) new audio, and a repeated retake is a cache hit."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from pipeline.compute.fanout import synthesize
from pipeline.engines.registry import EngineRegistry
from pipeline.scripts.model import Line
from pipeline.settings import Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog, Voice
from pipeline.voices.plan import Run, cache_key, line_seed, plan_jobs
from tests.compute.test_fanout import _audio

ROWS = [("en_dub_ep01-0003", "The tide is turning.", ""), ("b", "Stay close to the light.", "")]


def test_take_zero_keeps_the_seeds_and_cache_keys_made_before_takes_existed(sheet: Callable[..., list[Line]]) -> None:
    # Values computed with the code before takes existed: a change here invalidates every studio's synthesis cache.
    assert line_seed(0, "en_dub_ep01-0003") == line_seed(0, "en_dub_ep01-0003", 0) == 387561047
    assert line_seed(1234, "a") == 3931187783
    line = sheet(ROWS)[0]
    voice = Voice(id="en-joe", engine="piper", engine_voice="en_US-joe-medium", languages=["en"])
    engines = [("piper", "piper-fp#r1"), ("espeak", "espeak-fp#r1")]
    old = "a3a5215b1688e99e6ba130f5e46d33bc8850b0920b504d93ad466afd4e48f041"
    assert (
        cache_key(line, voice, None, 387561047, engines) == cache_key(line, voice, None, 387561047, engines, 0) == old
    )
    assert (
        cache_key(line, voice, "ab" * 32, 5, engines[:1])
        == "0c7f86a2edbe6f35a2edee2ae815eb89b04b91d83ca732a696fbfb8d7859895b"
    )
    assert cache_key(line, voice, None, 387561047, engines, 1) != old  # the take alone changes the key


def test_a_take_changes_only_that_lines_seed_and_key(
    catalog: Catalog, settings: Settings, sheet: Callable[..., list[Line]]
) -> None:
    registry = EngineRegistry(settings.engines)

    def plan(takes: dict[str, int] | None) -> dict[str, tuple[int, str, int]]:
        jobs, failures = plan_jobs(sheet(ROWS), catalog, "t", registry, 0, Run(takes=takes or {}))
        assert not failures
        return {job.line.line_id: (job.seed, job.cache_key, job.take) for job in jobs}

    base = plan(None)
    assert plan({}) == plan({"b": 0}) == base
    one = plan({"b": 1})
    assert one["en_dub_ep01-0003"] == base["en_dub_ep01-0003"]
    assert one["b"][2] == 1 and one["b"][0] != base["b"][0] and one["b"][1] != base["b"][1]
    assert one["b"][0] == line_seed(0, "b", 1)
    two = plan({"b": 2})
    assert two["b"][0] != one["b"][0] and two["b"][1] != one["b"][1]
    assert plan({"b": 1}) == one  # stable: a retried retake plans the same key
    with pytest.raises(ValueError, match="take must be >= 0"):
        plan({"b": -1})


def test_a_piper_retake_is_new_audio_and_a_repeat_is_a_cache_hit(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    lines = sheet(ROWS)
    first = synthesize(lines, catalog, "t", settings, store, client=dask_client)
    assert first.count("synthesized") == 2, first.summary()
    retake = synthesize(lines, catalog, "t", settings, store, client=dask_client, takes={"b": 1})
    by_id = {r.line.line_id: r for r in retake.results}
    assert by_id["en_dub_ep01-0003"].status == "cached" and by_id["b"].status == "synthesized", retake.summary()
    old_b = next(r for r in first.results if r.line.line_id == "b")
    assert by_id["b"].key != old_b.key and by_id["b"].job.take == 1
    new_audio, old_audio = _audio(store, by_id["b"]), _audio(store, old_b)
    assert new_audio.shape != old_audio.shape or not np.allclose(new_audio, old_audio, atol=1e-3)
    info = store.stat("staging", by_id["b"].key)
    assert info is not None and info.metadata.get("take") == "1"

    again = synthesize(lines, catalog, "t", settings, store, client=None, takes={"b": 1})  # no cluster needed
    assert (again.count("cached"), again.workers) == (2, 0), again.summary()
    assert {r.line.line_id: r.key for r in again.results} == {r.line.line_id: r.key for r in retake.results}
    assert np.array_equal(_audio(store, again.results[1]), new_audio)
