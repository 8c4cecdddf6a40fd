"""``chain.voice`` as the DAG task and ``dubflow voice`` run it: a repeat with nothing changed is the published
version without packaging it again; one edited line is a new version."""

from __future__ import annotations

from pipeline import chain
from pipeline.compute.cluster import LazyClient
from pipeline.settings import Settings
from pipeline.storage.publish import list_versions
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from tests.compute.test_orchestrate_retake import on_cluster  # noqa: F401  (fixture)

SHEET = "line_id,text\nch-1,Good evening everyone.\nch-2,The tide is turning.\n"


class Stages(chain.Watcher):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def stage(self, name: str) -> None:
        self.seen.append(name)


def _voice(settings: Settings, store: ObjectStore, catalog: Catalog, text: str, run: str) -> tuple[chain.Outcome, list]:
    stages = Stages()
    with LazyClient(settings.dask) as client:
        outcome = chain.voice(settings, chain.Script("chain.csv", text.encode(), "t"), chain.Options(run),
                              store=store, catalog=catalog, client=client, watcher=stages)  # fmt: skip
    return outcome, stages.seen


def test_a_repeat_is_the_published_version_and_an_edit_is_a_new_one(
    on_cluster: Settings,  # noqa: F811
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    first, stages = _voice(on_cluster, store, catalog, SHEET, "run-1")
    assert first.status == "published" and stages == ["synthesize", "finish", "package", "publish"]
    again, stages = _voice(on_cluster, store, catalog, SHEET, "run-2")
    assert stages == ["synthesize", "finish"], stages  # everything cached: nothing packaged again
    assert again.published is not None and again.published.already_published
    assert again.published.version == first.published.version == 1 and again.ok
    assert again.summary(store)["qa"] == first.summary(store)["qa"]
    edited, stages = _voice(on_cluster, store, catalog, SHEET.replace("turning", "turning now"), "run-3")
    assert stages[-2:] == ["package", "publish"] and edited.published.version == 2
    assert list_versions(store, "t", "chain") == [1, 2]
