"""The inbox: uploads land under the arrival day; discovery returns exactly one interval's scripts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.ids import InvalidIdError
from pipeline.storage.errors import StorageError
from pipeline.storage.inbox import discover, put_script
from pipeline.storage.store import ObjectStore
from tests.conftest import SAMPLES


def test_put_is_idempotent_per_day(store: ObjectStore) -> None:
    first = put_script(store, SAMPLES / "en_dub_ep01.srt", "acme", date(2026, 3, 1))
    again = put_script(store, SAMPLES / "en_dub_ep01.srt", "acme", date(2026, 3, 1))
    assert first.key == again.key == "acme/2026-03-01/en_dub_ep01.srt"
    assert (first.uploaded, again.uploaded) == (True, False)
    assert store.get_bytes("inbox", first.key) == (SAMPLES / "en_dub_ep01.srt").read_bytes()


def test_discover_returns_one_interval(store: ObjectStore) -> None:
    put_script(store, SAMPLES / "en_dub_ep01.srt", "acme", date(2026, 3, 1))
    put_script(store, SAMPLES / "zh_linesheet.csv", "acme", date(2026, 3, 2))
    put_script(store, SAMPLES / "narration_harbour.md", "acme", date(2026, 3, 3))
    put_script(store, SAMPLES / "zh_linesheet.csv", "other", date(2026, 3, 2))
    assert [i.name for i in discover(store, "acme", date(2026, 3, 2), date(2026, 3, 3))] == ["zh_linesheet.csv"]
    window = discover(store, "acme", date(2026, 3, 1), date(2026, 3, 3))
    expected = [(date(2026, 3, 1), "en_dub_ep01.srt"), (date(2026, 3, 2), "zh_linesheet.csv")]
    assert [(i.day, i.name) for i in window] == expected
    backfill = discover(store, "acme", date(2025, 1, 1), date(2026, 3, 3))  # long window: one listing
    assert [i.key for i in backfill] == [i.key for i in window]
    assert discover(store, "acme", date(2026, 4, 1), date(2026, 4, 2)) == []
    with pytest.raises(ValueError, match="empty window"):
        discover(store, "acme", date(2026, 3, 2), date(2026, 3, 2))


def test_bad_uploads_are_refused(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such script file"):
        put_script(store, tmp_path / "missing.srt", "acme")
    script = tmp_path / "run.sh"
    script.write_text("rm -rf /")
    with pytest.raises(InvalidIdError, match="not a script file"):
        put_script(store, script, "acme")
    with pytest.raises(InvalidIdError):
        put_script(store, SAMPLES / "en_dub_ep01.srt", "../other")
    assert list(store.list("inbox")) == []


def test_two_scripts_with_one_safe_name_are_not_silently_merged(store: ObjectStore, tmp_path: Path) -> None:
    first, second = tmp_path / "Episode 01.srt", tmp_path / "episode-01.srt"
    first.write_bytes((SAMPLES / "en_dub_ep01.srt").read_bytes())
    second.write_text("1\n00:00:01,000 --> 00:00:02,000\nOther.\n")
    put_script(store, first, "acme", date(2026, 3, 1))
    with pytest.raises(StorageError, match="already holds another script"):
        put_script(store, second, "acme", date(2026, 3, 1))
    corrected = tmp_path / "fix" / "Episode 01.srt"
    corrected.parent.mkdir()
    corrected.write_text("1\n00:00:01,000 --> 00:00:02,000\nCorrected.\n")
    assert put_script(store, corrected, "acme", date(2026, 3, 1)).uploaded  # same name, new content: replaces
    assert store.get_bytes("inbox", "acme/2026-03-01/episode-01.srt") == corrected.read_bytes()
