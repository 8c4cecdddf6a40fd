"""Every command ends with a message: bad ids, an unreachable store, a busy script. Checked through the installed
``dubflow`` console script, as a user runs it, so nothing but its own output can reach the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.storage.locks import script_lock
from pipeline.storage.store import ObjectStore
from tests.conftest import REPO

DUBFLOW = Path(sys.executable).with_name("dubflow")


def _dubflow(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DUBFLOW), *args], capture_output=True, text=True, cwd=REPO, timeout=timeout,
                          env={**os.environ, **env})  # fmt: skip


def test_a_project_id_with_a_trailing_newline_is_a_message(s3_env: dict[str, str]) -> None:
    done = _dubflow("inbox", "list", "--project", "demo\n", env=s3_env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "project 'demo\\n' may only contain" in done.stderr


@pytest.mark.parametrize(
    "command", [["inbox", "list", "--project", "demo"], ["catalog", "list"], ["demo", "--out", "build/t-unreachable"]]
)
def test_an_unreachable_store_is_a_message(command: list[str]) -> None:
    env = {"DUBFLOW_S3_ENDPOINT": "127.0.0.1:9", "DUBFLOW_S3_ACCESS_KEY": "x", "DUBFLOW_S3_SECRET_KEY": "y",
           "DUBFLOW_STORAGE__RETRY__ATTEMPTS": "1", "DUBFLOW_STORAGE__CONNECT_TIMEOUT": "1"}  # fmt: skip
    done = _dubflow(*command, env=env, timeout=120)
    assert done.returncode in (1, 2), done.stdout + done.stderr  # 1: the command ran and failed; 2: could not start
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "cannot reach S3 server http://127.0.0.1:9" in output


@pytest.mark.timeout(600)
def test_a_busy_script_is_reported_and_the_demo_goes_on_with_the_others(
    store: ObjectStore, s3_env: dict[str, str], tmp_path: Path
) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "busy.csv").write_text("line_id,speaker,text\nb-1,MAYA,Hello there.\n")
    (samples / "free.csv").write_text("line_id,speaker,text\nf-1,MAYA,Good morning.\n")
    env = {**s3_env, "DUBFLOW_S3_BUCKET_PREFIX": store.settings.bucket_prefix,
           "DUBFLOW_SYNTHESIS__SCRIPT_LOCK_WAIT": "0", "DUBFLOW_QA__ASR": "false", "DUBFLOW_QA__SIMILARITY": "false",
           "DUBFLOW_DASK__WORKERS": "1"}  # fmt: skip
    with script_lock(store, "demo", "busy", "someone-else", wait=0):
        done = _dubflow("demo", "--samples", str(samples), "--out", str(tmp_path / "out"), env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert "busy.csv: not voiced: demo/busy is being voiced by run someone-else" in " ".join(output.split())
    assert "demo/free v1 published" in output
    assert "voices not enrolled: qa.similarity is off" in output  # no speaker check, nothing to enroll for
