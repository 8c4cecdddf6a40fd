"""``make demo``: the scheduled voicing DAGs, run once with ``dag.test()`` on the sample scripts.

Why ``dag.test()``: it runs the real DAGs (params, dynamic task mapping, XCom, asset events, task retries) in this
process without a scheduler, and records the runs in the same metadata database ``make airflow`` serves, so the UI
shows them afterwards. Why here and not in ``pipeline/``: it drives Airflow; ``dubflow demo`` is the Airflow-free
variant of the same stages.

    PYTHONPATH=plugins .venv/bin/python -m dubflow_airflow.demo [--out build/demo] [--airflow-home var/airflow]

Every sample goes into the ``demo`` project's inbox for today (UTC); ``dubflow_dubbing`` and ``dubflow_narration``
then run for today's interval and publish what passes QA. The published files of every version are also copied
to ``<out>/delivery/<script_id>/v<N>/`` so they can be played without S3 tools. Exit code 1 when a run failed.

Only the standard library is imported at module level: the local Dask workers are spawned, and spawning
re-imports this module (as ``__mp_main__``) in every worker; Airflow is configured before it is imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from rich.console import Console

    from pipeline.settings import Settings
    from pipeline.storage.local_server import ServerStatus
    from pipeline.storage.store import ObjectStore

REPO = Path(__file__).resolve().parents[2]
PROJECT = "demo"
DAG_IDS = ("dubflow_dubbing", "dubflow_narration")
POOL = ("dubflow_synthesis", "2", "scripts synthesizing at once")  # as `make airflow` sets it
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"


@dataclass
class ScriptOutcome:
    """One mapped ``voice_script`` instance: its task state and, when it succeeded, what it returned."""

    dag_id: str
    name: str
    state: str
    result: dict[str, Any] | None = None
    local: Path | None = None  # the downloaded copy of the published version

    @property
    def published(self) -> bool:
        return bool(self.result and self.result.get("manifest"))

    def status(self) -> str:
        if self.result is None:
            return f"failed ({self.state})"
        if self.result.get("already_published"):
            return "already published"
        return str(self.result.get("status", self.state))


@dataclass
class RunOutcome:
    dag_id: str
    run_id: str
    state: str
    seconds: float
    scripts: list[ScriptOutcome] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "success"


def airflow_env(home: Path, port: int) -> dict[str, str]:
    """The environment of ``make airflow`` (keep the two in step), so the demo's runs are the UI's runs."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the Test button of the dubflow connection types
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "dubflow_airflow.sqlite.CONNECT_ARGS",  # wait for SQLite's lock
    }


def prepare_airflow(home: Path, port: int) -> None:
    """Point this process at ``home`` (SQLite, Airflow's default there), migrate it and create the pool.

    Must run before anything imports ``airflow``: its settings are read once, at import.
    """
    if "airflow" in sys.modules:
        raise RuntimeError("prepare_airflow() must run before airflow is imported")
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(airflow_env(home, port))
    if str(REPO / "plugins") not in sys.path:
        sys.path.insert(0, str(REPO / "plugins"))
    airflow = Path(sys.executable).with_name("airflow")
    for argv in (["db", "migrate"], ["pools", "set", *POOL]):
        done = subprocess.run([str(airflow), *argv], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def queue_samples(store: ObjectStore, samples: Path, project: str, day: date) -> list[str]:
    """Every supported script in ``samples`` into the project's inbox for ``day``; returns the inbox keys."""
    from pipeline.scripts.ingest import supported_suffixes
    from pipeline.storage.inbox import put_script

    files = sorted(p for p in samples.iterdir() if p.suffix.lower() in supported_suffixes())
    return [put_script(store, path, project, day).key for path in files]


def run_dag(dag_id: str, day: date, project: str) -> RunOutcome:
    """``dag.test()`` of one voicing DAG for the interval starting at ``day`` (UTC midnight, like the schedule)."""
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {dag_id} not found in {REPO / 'dags'}: {bag.import_errors}")
    started = time.monotonic()
    run = dag.test(logical_date=datetime(day.year, day.month, day.day, tzinfo=UTC), run_conf={"project": project})
    outcome = RunOutcome(dag_id, run.run_id, str(run.state), time.monotonic() - started)
    instances = run.get_task_instances()
    discovered: list[dict[str, str]] = []
    for ti in instances:
        if ti.task_id == "discover" and str(ti.state) == "success":
            discovered = ti.xcom_pull(task_ids="discover") or []
        if ti.task_id == "summarize" and str(ti.state) == "success":
            outcome.note = (ti.xcom_pull(task_ids="summarize") or {}).get("note", "")
    for ti in sorted((t for t in instances if t.task_id == "voice_script"), key=lambda t: t.map_index):
        name = discovered[ti.map_index]["name"] if 0 <= ti.map_index < len(discovered) else f"#{ti.map_index}"
        result = ti.xcom_pull(task_ids="voice_script", map_indexes=ti.map_index) if str(ti.state) == "success" else None
        outcome.scripts.append(ScriptOutcome(dag_id, name, str(ti.state), result))
    return outcome


def download_version(store: ObjectStore, manifest_uri: str, folder: Path) -> Path:
    """Copy one published version (lines, stems, subtitles, QA report, manifest) into ``folder``, checked against
    the manifest's sha256; files already there with the right content are not fetched again."""
    from pipeline.digest import sha256_file

    key = manifest_uri.split("/", 3)[3]  # s3://bucket/key
    data = store.get_bytes("assets", key)
    manifest = json.loads(data)
    for entry in [*manifest["lines"], *manifest["files"]]:
        path = folder / entry["name"]
        if path.is_file() and sha256_file(path) == entry["sha256"]:
            continue
        store.get_file("assets", entry["key"], path)
        if sha256_file(path) != entry["sha256"]:
            raise RuntimeError(f"{path}: downloaded content does not match the manifest's sha256")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_bytes(data)
    return folder


def _qa(result: dict[str, Any] | None) -> str:
    if not result or "qa" not in result:
        return ""
    counts = result["qa"]
    return " ".join(f"{k} {counts.get(k, 0)}" for k in ("pass", "warn", "fail", "quarantined"))


def _shown(path: Path) -> str:
    """Relative to the working directory when inside it: shorter, and what ``make`` users type."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def report(console: Console, runs: list[RunOutcome], store: ObjectStore, server: ServerStatus | None,
           settings: Settings, home: Path, port: int, project: str) -> None:  # fmt: skip
    """What ran, what each run published and where it is, and how to look at it (catalog, S3, the UI)."""
    from rich.table import Table

    from pipeline.console import frame_table
    from pipeline.storage.asset_catalog import read_catalog, summarize
    from pipeline.storage.local_server import LocalS3Server

    table = Table(title=f"voicing runs of project {project!r}", title_justify="left")
    for column in ("DAG run", "state", "script", "status", "version", "QA lines"):
        table.add_column(column)
    for run in runs:
        if not run.scripts:
            table.add_row(f"{run.dag_id} ({run.seconds:.0f}s)", run.state, "", run.note or "no scripts", "", "")
        for script in run.scripts:
            version = script.result.get("version") if script.result else None
            table.add_row(f"{run.dag_id} ({run.seconds:.0f}s)", run.state, script.name, script.status(),
                          f"v{version}" if version else "", _qa(script.result))  # fmt: skip
    console.print(table)

    console.print("\n[bold]published assets[/bold] (manifest → local copy)")
    for script in (s for run in runs for s in run.scripts if s.published):
        assert script.result is not None
        console.print(f"  {script.result['manifest']}", highlight=False, soft_wrap=True)
        if script.local is not None:
            console.print(f"    → {_shown(script.local)}/  (open {_shown(script.local / 'qa' / 'report.html')})",
                          highlight=False, soft_wrap=True)  # fmt: skip
    versions = summarize(read_catalog(store, project))
    latest = versions.groupby("script_id", sort=True).tail(1)  # summarize sorts by version: the last is the newest
    console.print(frame_table(latest, f"catalog s3://{store.bucket('assets')}/catalog/: the newest of {len(versions)} "
                              f"published version(s) of project {project}"))  # fmt: skip

    console.print("\n[bold]object storage[/bold]", highlight=False)
    if server is not None:
        local = LocalS3Server.from_settings(settings.storage.local)
        console.print(f"  local S3 server {server.describe()}", highlight=False, soft_wrap=True)
        console.print(f"  credentials: {_shown(local.credentials_file)} (DUBFLOW_S3_* for any S3 client); it keeps "
                      "running: `dubflow s3 status`, `dubflow s3 stop`", highlight=False, soft_wrap=True)  # fmt: skip
    else:
        console.print(f"  {store!r} (configured endpoint; no local server started)", highlight=False, soft_wrap=True)
    console.print(f"  buckets: {store.bucket('inbox')} (scripts), {store.bucket('assets')} (published versions), "
                  f"{store.bucket('staging')} (cache)", highlight=False, soft_wrap=True)  # fmt: skip
    cli = _shown(Path(sys.executable).with_name("dubflow"))
    console.print(f"  list:     {cli} catalog list --project {project}   ·   {cli} inbox list --project {project}",
                  highlight=False, soft_wrap=True)  # fmt: skip
    console.print(f"  download: {cli} catalog show {project} <script_id> --presign   (a link per line)",
                  highlight=False, soft_wrap=True)  # fmt: skip

    console.print("\n[bold]Airflow UI[/bold]", highlight=False)
    make = "make airflow" if home.resolve() == (REPO / "var" / "airflow").resolve() \
        else f"make airflow AIRFLOW_DIR={_shown(home)}"  # fmt: skip
    if port != 8080:
        make += f" AIRFLOW_PORT={port}"
    password = home / PASSWORD_FILE
    written = "" if password.is_file() else ", written when it first starts"
    console.print(f"  {make} → http://127.0.0.1:{port}  user admin, password in {_shown(password)}{written}",
                  highlight=False, soft_wrap=True)  # fmt: skip
    console.print(f"  the runs above are in the grid view of {' and '.join(r.dag_id for r in runs)}",
                  highlight=False, soft_wrap=True)  # fmt: skip
    for run in runs:  # the review page: listen, read the QA verdicts, reject lines for a retake
        console.print(
            f"  review {run.dag_id}: http://127.0.0.1:{port}/dubflow/review/{run.dag_id}/"
            f"{quote(run.run_id, safe='')}  (or the run's Review tab)",
            highlight=False,
            soft_wrap=True,
        )


def run_demo(samples: Path, out: Path, home: Path, port: int, project: str, day: date) -> int:
    """Returns the exit code: 0 when every DAG run succeeded, 1 when one failed, 2 when nothing could run."""
    started = time.monotonic()
    prepare_airflow(home, port)
    from dubflow_airflow.hooks import in_repo, pipeline_settings
    from pipeline.console import make_console
    from pipeline.storage.connect import connect_store
    from pipeline.storage.errors import StorageError

    console = make_console()
    with in_repo():  # the settings' relative paths (voices, the local S3 server's data dir) are the repo's
        settings = pipeline_settings()  # what the tasks use: minio_default / dask_default when defined
        # Airflow routes library logs to the console: hide the "connection refused" retries of the readiness probe.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
        try:
            store, server = connect_store(settings)
            keys = queue_samples(store, samples, project, day)
        except StorageError as exc:
            console.print(f"object store: {exc}", style="red", markup=False, soft_wrap=True)
            return 2
        finally:
            logging.getLogger("urllib3.connectionpool").setLevel(logging.NOTSET)
        if server is not None:
            console.print(f"local S3 server {server.describe()}", highlight=False, soft_wrap=True)
        for key in keys:
            console.print(f"inbox: s3://{store.bucket('inbox')}/{key}", highlight=False, soft_wrap=True)
        runs = []
        for dag_id in DAG_IDS:
            console.rule(f"{dag_id}: dag.test() for {day}")
            runs.append(run_dag(dag_id, day, project))
        for script in (s for run in runs for s in run.scripts if s.published):
            assert script.result is not None
            folder = out / "delivery" / script.result["script_id"] / f"v{script.result['version']}"
            script.local = download_version(store, script.result["manifest"], folder)
        console.rule("dubflow demo")
        report(console, runs, store, server, settings, home, port, project)
    failed = [r for r in runs if not r.ok]
    for run in failed:
        console.print(f"{run.dag_id} run {run.run_id}: {run.state} (task logs above and in the UI)", style="red",
                      markup=False)  # fmt: skip
    console.print(f"\n{len(runs) - len(failed)} of {len(runs)} DAG runs succeeded in {time.monotonic() - started:.0f}s",
                  highlight=False)  # fmt: skip
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dubflow_airflow.demo",
                                     description="make demo: the voicing DAGs on the sample scripts")  # fmt: skip
    parser.add_argument("--samples", type=Path, default=REPO / "samples", help="sample scripts (default: samples/)")
    parser.add_argument("--out", type=Path, default=Path("build/demo"), help="local copies go to OUT/delivery/")
    parser.add_argument("--airflow-home", type=Path, default=REPO / "var" / "airflow",
                        help="AIRFLOW_HOME; the default is the one `make airflow` serves")  # fmt: skip
    parser.add_argument("--port", type=int, default=8080, help="the port `make airflow` serves the UI on")
    parser.add_argument("--project", default=PROJECT, help="the project whose inbox the samples go to")
    parser.add_argument("--day", type=date.fromisoformat, default=None, help="inbox day and interval (default: today)")
    args = parser.parse_args(argv)
    day = args.day or datetime.now(UTC).date()
    return run_demo(args.samples.absolute(), args.out.absolute(), args.airflow_home.absolute(), args.port,
                    args.project, day)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
