"""``dubflow s3 | inbox | catalog`` against real servers: what a studio operator types."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import SAMPLES

runner = CliRunner()


@pytest.mark.skipif(bool(os.environ.get("DUBFLOW_S3_ENDPOINT")), reason="not checked: external S3 server in use")
def test_s3_start_status_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DUBFLOW_S3_ENDPOINT", "DUBFLOW_STORAGE__ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"storage:\n  local:\n    data_dir: {tmp_path / 's3'}\n    s3_port: 0\n")
    down = runner.invoke(app, ["s3", "status", "--config", str(config)])
    assert down.exit_code == 1 and "not running" in down.output and "dubflow s3 start" in down.output
    try:
        started = runner.invoke(app, ["s3", "start", "--config", str(config)])
        assert started.exit_code == 0, started.output
        assert "created buckets: dubflow-inbox, dubflow-staging, dubflow-assets" in started.output
        up = runner.invoke(app, ["s3", "status", "--config", str(config)])
        assert (
            up.exit_code == 0
            and "running: pid" in up.output
            and "pipeline uses: Connection(http://127.0.0.1:" in up.output
        )
        secret = (tmp_path / "s3" / "credentials.env").read_text().split("DUBFLOW_S3_SECRET_KEY=")[1].strip()
        assert secret not in up.output and secret not in started.output
        empty = runner.invoke(app, ["catalog", "list", "--config", str(config)])
        assert empty.exit_code == 0 and "0 published version(s)" in empty.output
    finally:
        stopped = runner.invoke(app, ["s3", "stop", "--config", str(config)])
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    gone = runner.invoke(app, ["catalog", "list", "--config", str(config)])
    assert gone.exit_code == 2 and "no S3 endpoint configured" in gone.output


def test_inbox_put_and_list(s3_env: dict[str, str]) -> None:
    assert runner.invoke(app, ["s3", "init"]).exit_code == 0
    queue = ["inbox", "put", str(SAMPLES / "zh_linesheet.csv"), "--project", "acme", "--day", "2026-05-04"]
    put = runner.invoke(app, queue)
    assert put.exit_code == 0 and "acme/2026-05-04/zh_linesheet.csv (uploaded)" in put.output
    again = runner.invoke(app, queue)
    assert "(already there)" in again.output
    listed = runner.invoke(
        app, ["inbox", "list", "--project", "acme", "--since", "2026-05-01", "--until", "2026-05-08"]
    )
    assert listed.exit_code == 0 and "zh_linesheet.csv" in listed.output and "1 script(s)" in listed.output
    wide = CliRunner(env={"COLUMNS": "200"}).invoke(
        app, ["inbox", "list", "--project", "acme", "--since", "2026-05-01"]
    )
    assert "acme/2026-05-04/zh_linesheet.csv" in wide.output  # the key to paste into Airflow's trigger form
    bad = runner.invoke(app, ["inbox", "put", str(SAMPLES / "zh_linesheet.csv"), "--project", "../escape"])
    assert bad.exit_code == 1 and "project '../escape'" in bad.output
    bad_day = runner.invoke(app, ["inbox", "list", "--project", "acme", "--since", "May 1st"])
    assert bad_day.exit_code == 2 and "not a date" in bad_day.output


def test_catalog_show_and_rebuild(s3_env: dict[str, str], tmp_path: Path) -> None:
    from pipeline.settings import load_settings
    from pipeline.storage.publish import Delivery, publish
    from pipeline.storage.store import ObjectStore
    from tests.storage.test_publish import _clips

    store = ObjectStore.from_settings(load_settings().storage)
    store.ensure_buckets()
    from pipeline.storage.publish import DeliveryFile

    (tmp_path / "report.html").write_text("<html>QA</html>")
    extras = [DeliveryFile("qa/report.html", tmp_path / "report.html")]
    publish(store, Delivery("acme", "ep01", _clips(tmp_path, 2), "run-1", extras))
    shown = runner.invoke(app, ["catalog", "show", "acme", "ep01", "--presign"])
    assert shown.exit_code == 0, shown.output
    assert "acme/ep01/v1/en/en-000.wav" in shown.output and "X-Amz-Signature=" in shown.output
    # The QA report's stable link through the plugin (review.base_url), not a presigned one that lapses.
    assert "QA report: http://127.0.0.1:8080/dubflow/report/acme/ep01/v1/qa/report.html" in shown.output
    missing = runner.invoke(app, ["catalog", "show", "acme", "nope"])
    assert missing.exit_code == 1 and "acme/nope: not in the catalog" in missing.output
    rebuilt = runner.invoke(app, ["catalog", "rebuild", "--project", "acme"])
    assert rebuilt.exit_code == 0 and "1 catalog part(s)" in rebuilt.output
