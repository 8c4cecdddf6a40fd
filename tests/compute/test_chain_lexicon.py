"""A project lexicon in the chain: stored with the project, applied at plan time, and a changed entry re-voices
exactly the lines it touches (the others come from the cache)."""

from __future__ import annotations

import json

from pipeline import chain
from pipeline.compute.cluster import LazyClient
from pipeline.settings import Settings
from pipeline.storage.keys import lexicon_key
from pipeline.storage.publish import list_versions
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import Catalog
from tests.compute.test_orchestrate_retake import on_cluster  # noqa: F401  (fixture)

SHEET = (
    "line_id,text\n"
    "lx-1,Good evening everyone.\n"
    "lx-2,The SQL server is down again.\n"
    "lx-3,Ask Nguyen before you restart it.\n"
    "lx-4,The tide is turning.\n"
)


def _voice(settings: Settings, store: ObjectStore, catalog: Catalog, run: str) -> chain.Outcome:
    with LazyClient(settings.dask) as client:
        return chain.voice(settings, chain.Script("it_sheet.csv", SHEET.encode(), "t"), chain.Options(run),
                           store=store, catalog=catalog, client=client)  # fmt: skip


def _counts(outcome: chain.Outcome) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"synthesized": [], "cached": [], "failed": []}
    for result in outcome.report.results:
        out[result.status].append(result.line.line_id)
    return {k: sorted(v) for k, v in out.items()}


def test_a_changed_entry_revoices_only_the_lines_it_touches(
    on_cluster: Settings,  # noqa: F811
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    first = _voice(on_cluster, store, catalog, "lx-run-1")
    assert first.status == "published" and len(_counts(first)["synthesized"]) == 4

    lexicon = b"lang: en\nwords:\n  SQL: sequel\n  Nguyen: {arpabet: N W IH1 N}\n"
    store.put_bytes("inbox", lexicon_key("t", "names.yaml"), lexicon)
    second = _voice(on_cluster, store, catalog, "lx-run-2")
    assert _counts(second) == {"synthesized": ["lx-2", "lx-3"], "cached": ["lx-1", "lx-4"], "failed": []}
    assert second.published is not None and second.published.version == 2

    changed = lexicon.replace(b"SQL: sequel", b"SQL: {arpabet: EH1 S K Y UW1 EH1 L}")
    store.put_bytes("inbox", lexicon_key("t", "names.yaml"), changed)
    third = _voice(on_cluster, store, catalog, "lx-run-3")
    assert _counts(third) == {"synthesized": ["lx-2"], "cached": ["lx-1", "lx-3", "lx-4"], "failed": []}

    # What each line used is in the published QA report (the review page shows it), as the lexicon said it.
    key = third.published.manifest_key.removesuffix("manifest.json") + "qa/report.json"
    used = {line["line_id"]: line["lexicon"] for line in json.loads(store.get_bytes("assets", key))["lines"]}
    assert used == {"lx-1": [], "lx-2": ["SQL → /EH1 S K Y UW1 EH1 L/"], "lx-3": ["Nguyen → /N W IH1 N/"], "lx-4": []}


def test_a_lexicon_with_errors_refuses_the_run_naming_file_and_line(
    on_cluster: Settings,  # noqa: F811
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    store.put_bytes("inbox", lexicon_key("t", "bad.pls"), b"<lexicon><lexeme><grapheme>SQL</grapheme>\n</lexicon>")
    try:
        _voice(on_cluster, store, catalog, "lx-bad")
    except chain.InputError as exc:
        assert "t/lexicon/bad.pls:2" in str(exc) and "not well-formed" in str(exc), exc
    else:
        raise AssertionError("a broken lexicon did not stop the run")
    assert list_versions(store, "t", "it_sheet") == []  # nothing was voiced or published
