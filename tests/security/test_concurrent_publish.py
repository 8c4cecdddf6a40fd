"""Publishers racing for one script: processes started together, publishing the same and different content.

Whatever the interleaving, every published version's objects hash to exactly its manifest, no asset key ever holds
two different contents (every object version is checked: buckets are versioned), a version holds nothing its
manifest does not list, and every publisher ends with a result, not a traceback. Publishers of one content publish
it once; with another content interleaved, a late twin may publish its content again as a newer version (a
version is newer than everything published before it), never into a version the other content holds. Runs against the suite's S3 server: the embedded SeaweedFS
by default, MinIO when DUBFLOW_S3_ENDPOINT points at one (README, "Pointing at MinIO").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.storage import keys
from pipeline.storage.publish import list_versions, read_manifest
from pipeline.storage.store import ObjectStore, sha256_bytes
from tests.conftest import REPO

PUBLISHER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from pipeline.settings import load_settings
    from pipeline.storage.publish import Delivery, DeliveryLine, publish
    from pipeline.storage.store import ObjectStore

    folder, script_id, run_id, start_at = Path(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
    store = ObjectStore.from_settings(load_settings().storage)
    lines = [DeliveryLine(line_id=p.stem, lang="en", path=p) for p in sorted(folder.glob("*.wav"))]
    time.sleep(max(0.0, start_at - time.time()))  # every publisher starts at the same moment
    result = publish(store, Delivery("acme", script_id, lines, run_id), progress=lambda key, up: time.sleep(0.02))
    print(json.dumps({"run": run_id, "version": result.version, "already": result.already_published}))
""")


def _clips(folder: Path, seed: int, count: int = 6) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for n in range(count):
        sf.write(folder / f"l{n:02d}.wav", 0.1 * rng.standard_normal(8000), 16000, subtype="PCM_16")
    return folder


def _every_object_version(store: ObjectStore, prefix: str) -> dict[str, set[str]]:
    """key → the sha256 of every stored version of it (our metadata, checked against the bytes below)."""
    shas: dict[str, set[str]] = defaultdict(set)
    bucket = store.bucket("assets")
    for obj in store.client.list_objects(bucket_name=bucket, prefix=prefix, recursive=True, include_version=True):
        if obj.is_delete_marker:
            continue
        response = store.client.get_object(bucket_name=bucket, object_name=obj.object_name, version_id=obj.version_id)
        try:
            shas[obj.object_name].add(sha256_bytes(response.read()))
        finally:
            response.close()
            response.release_conn()
    return shas


def _race(store: ObjectStore, env: dict[str, str], script_id: str, runs: list[tuple[str, Path]]) -> list[dict]:
    start_at = time.time() + 2.0
    children = [subprocess.Popen([sys.executable, "-c", PUBLISHER, str(folder), script_id, run, str(start_at)],
                                 env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for run, folder in runs]  # fmt: skip
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and "Traceback" not in err, err
        outcomes.append(json.loads(out))
    return outcomes


def _mismatches(store: ObjectStore, script_id: str, outcomes: list[dict], digests: dict[str, str]) -> int:
    """Object versions whose bytes differ from the manifest listing them; asserts the other invariants."""
    published = {v: read_manifest(store, "acme", script_id, v) for v in list_versions(store, "acme", script_id)}
    published = {v: m for v, m in published.items() if m is not None}
    for outcome in outcomes:  # each publisher reports a version that holds its own content
        assert published[outcome["version"]]["content_sha256"] == digests[outcome["run"][0]], outcome
    stored = _every_object_version(store, keys.script_prefix("acme", script_id))
    mismatched = 0
    for version, manifest in published.items():
        for entry in manifest["lines"]:
            mismatched += stored[entry["key"]] != {entry["sha256"]}
        prefix = keys.version_prefix("acme", script_id, version)
        extra = {k for k in stored if k.startswith(prefix)} - {entry["key"] for entry in manifest["lines"]}
        assert extra == {prefix + keys.MANIFEST_NAME, prefix + keys.CLAIM_NAME}, extra
        assert stored[prefix + keys.MANIFEST_NAME] and len(stored[prefix + keys.MANIFEST_NAME]) == 1
    return mismatched


@pytest.mark.timeout(300)
def test_racing_publishers_never_mix_versions(store: ObjectStore, s3_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **s3_env, "DUBFLOW_S3_BUCKET_PREFIX": store.settings.bucket_prefix}
    contents = {"a": _clips(tmp_path / "a", 1), "b": _clips(tmp_path / "b", 2)}
    digests: dict[str, str] = {}
    mismatched = 0

    same = _race(store, env, "same", [(f"a{k}", contents["a"]) for k in range(6)])
    assert list_versions(store, "acme", "same") == [1] and sum(not o["already"] for o in same) == 1
    digests["a"] = read_manifest(store, "acme", "same", 1)["content_sha256"]
    mismatched += _mismatches(store, "same", same, {"a": digests["a"]})

    for round_ in range(3):
        script_id = f"race{round_}"
        runs = [(f"{name}{k}", folder) for k in range(3) for name, folder in contents.items()]  # 3 × a, 3 × b
        outcomes = _race(store, env, script_id, runs)
        for name in ("a", "b"):
            version = next(o["version"] for o in outcomes if o["run"][0] == name)
            digests[name] = read_manifest(store, "acme", script_id, version)["content_sha256"]
        assert digests["a"] != digests["b"]
        mismatched += _mismatches(store, script_id, outcomes, digests)
    assert mismatched == 0
