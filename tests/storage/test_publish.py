"""The publish protocol against a real S3 server: idempotent, atomic (manifest last), immutable versions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.digest import sha256_file
from pipeline.ids import InvalidIdError
from pipeline.storage import keys
from pipeline.storage.asset_catalog import read_catalog
from pipeline.storage.errors import StorageError, VersionConflictError
from pipeline.storage.publish import Delivery, DeliveryFile, DeliveryLine, list_versions, publish, read_manifest
from pipeline.storage.store import ObjectStore, sha256_bytes


def _clips(folder: Path, count: int, lang: str = "en", seed: int = 0) -> list[DeliveryLine]:
    """Real WAV files (tones) standing in for synthesized lines."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for n in range(count):
        seconds = 0.3 + 0.1 * n
        t = np.arange(int(16000 * seconds)) / 16000
        tone = 0.2 * np.sin(2 * np.pi * rng.uniform(150, 400) * t)
        path = folder / f"{lang}-{n:03d}.wav"
        sf.write(path, tone, 16000, subtype="PCM_16")
        spoken = {"duration": seconds, "sample_rate": 16000, "voice": "en-joe", "engine": "piper", "text": f"line {n}"}
        lines.append(DeliveryLine(line_id=f"{lang}-{n:03d}", lang=lang, path=path, **spoken))
    return lines


def _delivery(lines: list[DeliveryLine], **changes: object) -> Delivery:
    fields = {"project": "acme", "script_id": "ep01", "lines": lines, "run_id": "run-1"} | changes
    return Delivery(**fields)  # type: ignore[arg-type]


def _objects(store: ObjectStore, prefix: str = "acme/") -> list[str]:
    return sorted(o.key for o in store.list("assets", prefix))


def test_publish_writes_objects_manifest_and_catalog(store: ObjectStore, tmp_path: Path) -> None:
    lines = _clips(tmp_path / "a", 4) + _clips(tmp_path / "b", 2, lang="zh")
    report = tmp_path / "report.html"
    report.write_text("<html>qa</html>")
    extras = [DeliveryFile(keys.QA_REPORT_NAME, report)]
    result = publish(store, _delivery(lines, extras=extras, source={"name": "ep01.srt"}))
    assert (result.version, result.uploaded, result.skipped) == (1, 7, 0)
    manifest = read_manifest(store, "acme", "ep01", 1)
    assert manifest is not None
    assert manifest["languages"] == ["en", "zh"] and manifest["totals"]["lines"] == 6
    assert manifest["source"] == {"name": "ep01.srt"} and manifest["files"][0]["key"] == "acme/ep01/v1/qa/report.html"
    for line, entry in zip(lines, manifest["lines"], strict=True):
        assert entry["key"] == keys.asset_key("acme", "ep01", 1, line.lang, line.line_id, "wav")
        assert entry["sha256"] == sha256_file(line.path)
        info = store.stat("assets", entry["key"])
        assert info is not None and info.sha256 == entry["sha256"] and info.content_type == "audio/wav"
    written = [result.manifest_key, "acme/ep01/v1/qa/report.html", keys.claim_key("acme", "ep01", 1)]
    assert _objects(store) == sorted([e["key"] for e in manifest["lines"]] + written)
    catalog = read_catalog(store)
    assert len(catalog) == 6
    by_line = catalog.set_index("line_id")
    for entry in manifest["lines"]:
        row = by_line.loc[entry["line_id"]]
        assert (row["key"], row["sha256"], row["version"], row["project"]) == (entry["key"], entry["sha256"], 1, "acme")
        assert row["duration_s"] == pytest.approx(entry["duration"])


def test_republishing_the_same_content_uploads_nothing(store: ObjectStore, tmp_path: Path) -> None:
    lines = _clips(tmp_path, 5)
    first = publish(store, _delivery(lines))
    before = store.stat("assets", first.manifest_key)
    again = publish(store, _delivery(lines, run_id="run-2"))
    assert (again.version, again.uploaded, again.bytes_uploaded, again.already_published) == (1, 0, 0, True)
    after = store.stat("assets", first.manifest_key)
    assert before is not None and after is not None and after.etag == before.etag  # the manifest was not rewritten
    assert len(read_catalog(store)) == 5


def test_changed_content_becomes_a_new_version(store: ObjectStore, tmp_path: Path) -> None:
    lines = _clips(tmp_path / "v1", 3)
    publish(store, _delivery(lines))
    v1 = read_manifest(store, "acme", "ep01", 1)
    edited = [*lines[:2], _clips(tmp_path / "v2", 3, seed=9)[2]]
    second = publish(store, _delivery(edited, run_id="run-2"))
    assert (second.version, second.uploaded, second.copied) == (2, 1, 2)
    assert read_manifest(store, "acme", "ep01", 1) == v1  # the published version is untouched
    assert list_versions(store, "acme", "ep01") == [1, 2]
    catalog = read_catalog(store)
    assert sorted(catalog["version"].unique()) == [1, 2] and len(catalog) == 6


def test_different_content_for_a_published_version_is_refused(store: ObjectStore, tmp_path: Path) -> None:
    publish(store, _delivery(_clips(tmp_path / "a", 2)))
    before = _objects(store)
    with pytest.raises(VersionConflictError, match="v1 is already published with different content"):
        publish(store, _delivery(_clips(tmp_path / "b", 2, seed=5), version=1))
    assert _objects(store) == before
    metadata_only = [DeliveryLine(**{**line.__dict__, "qa_verdict": "fail"}) for line in _clips(tmp_path / "a", 2)]
    with pytest.raises(VersionConflictError):
        publish(store, _delivery(metadata_only, version=1))


def test_bad_input_fails_before_anything_is_uploaded(store: ObjectStore, tmp_path: Path) -> None:
    lines = _clips(tmp_path, 3)
    hostile = DeliveryLine(line_id="../../escape", lang="en", path=lines[0].path)
    with pytest.raises(InvalidIdError):
        publish(store, _delivery([*lines, hostile]))
    missing = DeliveryLine(line_id="gone", lang="en", path=tmp_path / "gone.wav")
    with pytest.raises(StorageError, match=r"gone\.wav does not exist"):
        publish(store, _delivery([*lines, missing]))
    with pytest.raises(StorageError, match=r"map to key 'en/en-000\.wav'"):
        publish(store, _delivery([*lines, lines[0]]))
    with pytest.raises(InvalidIdError, match="reserved"):
        publish(store, _delivery(lines, project="catalog"))
    assert _objects(store, "") == []


DRIVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipeline.settings import load_settings
    from pipeline.storage.publish import Delivery, DeliveryLine, publish
    from pipeline.storage.store import ObjectStore, sha256_bytes

    store = ObjectStore.from_settings(load_settings().storage)
    lines = [DeliveryLine(line_id=p.stem, lang="en", path=p) for p in sorted(Path(sys.argv[1]).glob("*.wav"))]

    def slow(key, uploaded):
        print("uploaded" if uploaded else "skipped", key, flush=True)
        time.sleep(0.3)

    result = publish(store, Delivery("acme", "ep01", lines, "killed-run"), progress=slow)
    print("done", result.uploaded, flush=True)
""")


def test_a_publish_killed_half_way_leaves_no_manifest_and_resumes(
    store: ObjectStore, s3_env: dict[str, str], tmp_path: Path
) -> None:
    lines = _clips(tmp_path / "clips", 10)
    env = {**os.environ, **s3_env, "DUBFLOW_S3_BUCKET_PREFIX": store.settings.bucket_prefix}
    command = [sys.executable, "-c", DRIVER, str(tmp_path / "clips")]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    assert child.stdout is not None
    seen = [child.stdout.readline() for _ in range(3)]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert all(line.startswith("uploaded") for line in seen), seen
    partial = [key for key in _objects(store) if not key.endswith(keys.CLAIM_NAME)]
    assert 3 <= len(partial) < 10 and not store.exists("assets", keys.manifest_key("acme", "ep01", 1))

    same = [DeliveryLine(line_id=line.line_id, lang="en", path=line.path) for line in lines]  # as the driver has them
    resumed = publish(store, _delivery(same, run_id="resume"))  # the same content: v1 is claimed for it
    assert resumed.version == 1
    assert (resumed.skipped, resumed.uploaded) == (len(partial), 10 - len(partial))
    assert len(_objects(store)) == 12  # ten clips, the claim, the manifest: no duplicates, no second version
    assert read_manifest(store, "acme", "ep01", 1)["run_id"] == "resume"


def _assert_intact(store: ObjectStore, version: int) -> dict:
    """Every object a manifest lists has exactly the bytes the manifest says."""
    manifest = read_manifest(store, "acme", "ep01", version)
    assert manifest is not None
    for entry in manifest["lines"]:
        assert sha256_bytes(store.get_bytes("assets", entry["key"])) == entry["sha256"], entry["key"]
    return manifest


def test_concurrent_publishers_of_different_content_never_touch_each_others_objects(
    store: ObjectStore, tmp_path: Path
) -> None:
    ours, theirs = _clips(tmp_path / "ours", 3), _clips(tmp_path / "theirs", 3, seed=4)
    raced = []

    def another_run_starts_while_we_upload(key: str, uploaded: bool) -> None:
        if not raced:  # after our first clip is in v1, another run publishes other content
            raced.append(publish(store, _delivery(theirs, run_id="theirs")))

    mine = publish(store, _delivery(ours, run_id="ours"), progress=another_run_starts_while_we_upload)
    assert (mine.version, raced[0].version) == (1, 2)  # theirs found v1 claimed for other content and moved on
    assert _assert_intact(store, 1)["run_id"] == "ours"
    assert _assert_intact(store, 2)["run_id"] == "theirs"


def test_concurrent_publishers_of_the_same_content_publish_it_once(store: ObjectStore, tmp_path: Path) -> None:
    lines = _clips(tmp_path, 3)
    raced = []

    def same_content_finishes_first(key: str, uploaded: bool) -> None:
        if not raced:
            raced.append(publish(store, _delivery(lines, run_id="twin")))

    mine = publish(store, _delivery(lines, run_id="ours"), progress=same_content_finishes_first)
    assert (mine.version, raced[0].version, mine.already_published) == (1, 1, True)
    assert _assert_intact(store, 1)["run_id"] == "twin"
    assert list_versions(store, "acme", "ep01") == [1]


def test_an_abandoned_unfinished_version_with_other_content_is_never_reused(store: ObjectStore, tmp_path: Path) -> None:
    crashed = _clips(tmp_path / "crashed", 2)
    store.put_file("assets", "acme/ep01/v1/en/en-000.wav", crashed[0].path)  # a run that died after one clip
    store.put_bytes("assets", "acme/ep01/v1/qa/report.html", b"stale")
    result = publish(store, _delivery(_clips(tmp_path / "new", 2, seed=3)))
    assert result.version == 2
    assert store.get_bytes("assets", "acme/ep01/v1/qa/report.html") == b"stale"  # untouched, never published
    _assert_intact(store, 2)
    with pytest.raises(VersionConflictError, match="holds content this run did not plan"):
        publish(store, _delivery(_clips(tmp_path / "x", 2, seed=8), version=1))


def test_a_new_version_copies_unchanged_clips_server_side(store: ObjectStore, tmp_path: Path) -> None:
    lines = _clips(tmp_path / "v1", 4)
    publish(store, _delivery(lines))
    edited = [*lines[:3], _clips(tmp_path / "v2", 4, seed=9)[3]]
    second = publish(store, _delivery(edited, run_id="run-2"))
    assert (second.version, second.copied, second.uploaded) == (2, 3, 1)
    for line in edited:
        key = keys.asset_key("acme", "ep01", 2, "en", line.line_id, "wav")
        info = store.stat("assets", key)
        assert info is not None and info.sha256 == sha256_file(line.path) and info.content_type == "audio/wav"
        assert store.get_bytes("assets", key) == line.path.read_bytes()
