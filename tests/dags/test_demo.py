"""What ``make demo`` runs, as it runs it: ``python -m dubflow_airflow.demo`` in its own process, on a fresh
Airflow home and a fresh embedded S3 server (started by the pipeline, as on a new machine), real engines and a real
LocalCluster."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
from dubflow_airflow.postgres import LocalPostgres

from pipeline.digest import sha256_file
from pipeline.settings import LocalServerSettings, StorageSettings
from pipeline.storage.asset_catalog import read_catalog
from pipeline.storage.local_server import LocalS3Server
from pipeline.storage.store import ObjectStore
from tests.conftest import REPO

SCRIPTS = {
    "dubflow_dubbing": {"en_dub_ep01", "ja_dub_ep01", "zh_linesheet"},
    "dubflow_narration": {"narration_harbour"},
}
UNIT = {"zh": "PER", "ja": "CER"}  # and WER for the others
HEARD = {"en_dub_ep01": {"en"}, "ja_dub_ep01": {"ja"}, "zh_linesheet": {"zh"}, "narration_harbour": {"en", "zh"}}
MANIFEST = re.compile(r"s3://[a-z0-9.-]+/demo/([A-Za-z0-9._-]+)/v(\d+)/manifest\.json")


def _demo(tmp_path: Path, postgres: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    # No AIRFLOW_* (another test's home) and no DUBFLOW_S3_* (the suite's server): the demo's own defaults decide.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DUBFLOW_"))} | extra
    env |= {"PYTHONPATH": str(REPO / "plugins"), "DUBFLOW_STORAGE__LOCAL__DATA_DIR": str(tmp_path / "s3")}
    env["DUBFLOW_STORAGE__LOCAL__S3_PORT"] = "0"
    argv = ["-m", "dubflow_airflow.demo", "--out", str(tmp_path / "out"), "--airflow-home", str(tmp_path / "airflow")]
    argv += ["--postgres", str(postgres)]
    return subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def _checks(report: Path, name: str) -> list[tuple[str, dict]]:
    lines = json.loads(report.read_text())["lines"]
    return [(line["lang"], c) for line in lines for c in line["checks"] if c["name"] == name]


@pytest.mark.timeout(1800)  # enrollment, then both DAGs on all samples (ASR included): minutes on a loaded 2-core box
def test_make_demo_runs_the_dags_publishes_every_sample_and_says_where(tmp_path: Path, postgres_dir: Path) -> None:
    try:
        first = _demo(tmp_path, postgres_dir)
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-6000:]
        store = ObjectStore.from_settings(StorageSettings(local=LocalServerSettings(data_dir=tmp_path / "s3")))

        # Each DAG published its samples; the manifests were written by the dag.test() runs.
        published = {m.group(1): int(m.group(2)) for m in MANIFEST.finditer(first.stdout)}
        assert set(published) == set().union(*SCRIPTS.values()), first.stdout[-4000:]
        for dag_id, scripts in SCRIPTS.items():
            for script in scripts:
                manifest = json.loads(store.get_bytes("assets", f"demo/{script}/v{published[script]}/manifest.json"))
                assert manifest["run_id"].startswith("manual__"), manifest["run_id"]
                assert manifest["source"]["inbox_key"].startswith("demo/") and manifest["lines"], script
                # The local copy is the published version, file for file.
                local = tmp_path / "out" / "delivery" / script / f"v{published[script]}"
                for entry in [*manifest["lines"], *manifest["files"]]:
                    assert sha256_file(local / entry["name"]) == entry["sha256"], (dag_id, entry["name"])
                assert (local / "qa" / "report.html").is_file()
                heard = _checks(local / "qa" / "report.json", "intelligibility")
                # Mandarin and Japanese are heard too (Whisper base), dialect lines are not-checked with their reason.
                assert all(c["unit"] == UNIT.get(lang, "WER") for lang, c in heard if c["value"] is not None)
                assert {lang for lang, c in heard if c["verdict"] in ("pass", "warn", "fail")} >= HEARD[script], heard
                # Every demo voice was enrolled first: each line's speaker is checked against its voice's clip.
                similar = _checks(local / "qa" / "report.json", "speaker_similarity")
                assert similar and all(c["value"] is not None for _, c in similar), (script, similar)
        catalog = read_catalog(store, "demo")
        langs = catalog.groupby("script_id")["lang"].agg(set).to_dict()
        assert langs["en_dub_ep01"] == {"en"} and langs["zh_linesheet"] == {"zh"}, langs
        assert langs["ja_dub_ep01"] == {"ja"}, langs
        assert {"en", "zh"} <= langs["narration_harbour"], langs

        # The runs are in the metadata DB `make airflow` would serve; the demo stopped the server it started.
        database = LocalPostgres(postgres_dir)
        assert database.pid is None
        database.start()
        try:
            with closing(psycopg2.connect(database.url().replace("+psycopg2", ""))) as db, db.cursor() as cur:
                cur.execute("SELECT dag_id, state FROM dag_run")
                runs = set(cur.fetchall())
                cur.execute("SELECT dag_id, is_paused FROM dag WHERE dag_id LIKE 'dubflow_%'")
                paused = dict(cur.fetchall())
        finally:
            database.stop()
        voicing = {("dubflow_dubbing", "success"), ("dubflow_narration", "success")}
        assert runs == {*voicing, ("dubflow_voice_enrollment", "success")}, runs
        # dags_are_paused_at_creation is off: the UI's trigger dialog never offers to unpause (and so start the
        # schedule of) a voicing DAG as a side effect of a hand trigger.
        assert paused["dubflow_dubbing"] is False and paused["dubflow_narration"] is False, paused
        from pipeline.enrollment.record import enrollments
        from pipeline.voices.catalog import load_catalog

        cast = load_catalog(REPO / "configs" / "voices.yaml").cast_and_recordings("demo")
        enrolled = enrollments(store)
        assert sorted(enrolled) == cast and {"zh-clone", "en-clone", "en-joe", "ja-kumo"} <= set(cast), enrolled
        assert enrolled["zh-clone"].transcript_source == "catalog" and enrolled["en-clone"].transcript_source == "asr"
        assert enrolled["en-joe"].source.kind == "self"

        # The printed guide names the assets, the S3 server and its credentials, the CLI and the UI.
        out = first.stdout
        needles = ["catalog list --project demo", "catalog show demo", str(tmp_path / "s3" / "credentials.env")]
        needles += ["http://127.0.0.1:8080", f"make airflow AIRFLOW_DIR={tmp_path / 'airflow'}", "user admin"]
        for needle in [*needles, "simple_auth_manager_passwords.json.generated", "3 of 3 DAG runs succeeded"]:
            assert needle in out, needle
        assert "http://127.0.0.1:8080/dubflow/review/dubflow_dubbing/manual__" in out  # each run's review page
        # A second `make demo` (30 s here) is not run: that a repeat publishes nothing is pinned on the DAG path by
        # tests/e2e (a second backfill uploads nothing) and tests/compute/test_chain.py; that a restarted S3 server
        # keeps its data and credentials by tests/storage/test_local_server.py; that a second start shares the
        # running Postgres by tests/plugins/test_postgres.py.
    finally:
        LocalS3Server(tmp_path / "s3").stop()  # started by the demo, detached: stopped by its recorded PID


def test_make_demo_names_a_cluster_it_cannot_start_before_voicing_anything(tmp_path: Path, postgres_dir: Path) -> None:
    try:
        run = _demo(tmp_path, postgres_dir, DUBFLOW_DASK__MODE="cuda", CUDA_VISIBLE_DEVICES="")
        assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
        assert "Dask cluster: dask.mode is cuda but no GPU is visible" in run.stdout, run.stdout[-3000:]
        assert "Traceback" not in run.stderr and "dag.test()" not in run.stdout  # said first, nothing run
    finally:
        LocalS3Server(tmp_path / "s3").stop()


def test_make_demo_and_make_airflow_share_one_airflow() -> None:
    """Otherwise `make airflow` would serve another database or DAG folder than the one the demo ran in: both
    prepare Airflow with ``local_airflow.prepare`` on the same home and Postgres folder."""
    makefile = (REPO / "Makefile").read_text()
    same = "--airflow-home $(AIRFLOW_DIR) --postgres $(PG_DIR)"
    for target in ("demo", "airflow"):
        recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        assert same in recipe, (target, recipe)
    for module in ("demo", "standalone"):
        assert (
            "from dubflow_airflow.local_airflow import prepare"
            in (REPO / f"plugins/dubflow_airflow/{module}.py").read_text()
        )
