"""No single line takes a worker down: too much text never reaches one, too much audio fails only that line."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.compute.fanout import synthesize
from pipeline.scripts.model import Line
from pipeline.settings import Settings
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog


def test_a_line_over_the_character_cap_fails_at_plan_time_and_the_rest_is_spoken(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    capped = settings.model_copy(update={"synthesis": settings.synthesis.model_copy(update={"max_line_chars": 40})})
    lines = sheet([("ok-1", "A short line.", ""), ("long-1", "This line is far longer than forty characters.", "")])
    report = synthesize(lines, catalog, "t", capped, store, client=dask_client)
    by_id = {r.line.line_id: r for r in report.results}
    assert by_id["ok-1"].status == "synthesized"
    assert by_id["long-1"].status == "failed" and "synthesis.max_line_chars is 40" in by_id["long-1"].error
    assert by_id["long-1"].clip is None  # it never reached a worker


def test_audio_longer_than_the_cap_fails_that_line_with_its_reason_and_the_worker_lives_on(
    dask_client, store: ObjectStore, settings: Settings, catalog: Catalog, sheet: Callable[..., list[Line]]
) -> None:
    capped = settings.model_copy(update={"synthesis": settings.synthesis.model_copy(
        update={"max_line_seconds": 1.5, "retries": 0})})  # fmt: skip
    lines = sheet([("short-1", "Yes.", "en-espeak"),
                   ("long-1", "This sentence takes espeak well over a second and a half to say aloud.", "en-espeak"),
                   ("short-2", "No.", "en-espeak")])  # fmt: skip
    workers_before = set(dask_client.scheduler_info()["workers"])
    report = synthesize(lines, catalog, "t", capped, store, client=dask_client, force=True)
    by_id = {r.line.line_id: r for r in report.results}
    assert by_id["short-1"].status == by_id["short-2"].status == "synthesized"
    failed = by_id["long-1"]
    assert failed.status == "failed" and failed.clip is not None and failed.clip.reason == "too_long"
    assert "synthesis.max_line_seconds is 1.5" in failed.error
    assert set(dask_client.scheduler_info()["workers"]) == workers_before
