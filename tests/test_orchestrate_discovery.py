"""``orchestrate.discover_scripts``: each voicing DAG discovers only its kind of script; a retake names its script."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.orchestrate import discover_scripts, script_kind
from pipeline.settings import load_settings
from pipeline.storage.inbox import put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import SAMPLES

DAY = date(2026, 11, 20)


def test_script_kinds_follow_the_ingest_format_families() -> None:
    assert [script_kind(n) for n in ("a.srt", "a.VTT", "a.csv", "a.xlsx", "a.jsonl", "a.md", "a.txt", "a.doc")] == [
        "dubbing",
        "dubbing",
        "dubbing",
        "dubbing",
        "dubbing",
        "narration",
        "narration",
        None,
    ]


def test_each_kind_discovers_only_its_scripts_and_a_named_one_always(s3_env: dict[str, str]) -> None:
    settings = load_settings()
    store = ObjectStore.from_settings(settings.storage)
    store.ensure_buckets()
    for sample in ("en_dub_ep01.srt", "zh_linesheet.csv", "narration_harbour.md"):
        put_script(store, SAMPLES / sample, "demo", DAY)
    end = date(2026, 11, 21)

    def names(**kwargs: object) -> list[str]:
        return [item["name"] for item in discover_scripts(settings, "demo", DAY, end, **kwargs)]  # type: ignore[arg-type]

    assert names() == ["en_dub_ep01.srt", "narration_harbour.md", "zh_linesheet.csv"]
    assert names(kinds=["dubbing"]) == ["en_dub_ep01.srt", "zh_linesheet.csv"]
    assert names(kinds=["narration"]) == ["narration_harbour.md"]
    assert names(kinds=["dubbing", "narration"]) == names()
    with pytest.raises(ValueError, match="unknown script kind"):
        names(kinds=["podcast"])
    # Named explicitly, a script of the other kind is still voiced: someone asked for exactly that file.
    named = discover_scripts(settings, "demo", None, None, f"demo/{DAY}/narration_harbour.md", kinds=["dubbing"])
    assert [item["name"] for item in named] == ["narration_harbour.md"]


def test_a_retake_without_a_script_key_fails_before_discovery(s3_env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"retake of line\(s\) en-0001 needs the script_key"):
        discover_scripts(load_settings(), "demo", DAY, date(2026, 11, 21), retake={"en-0001": {"take": 1}})
