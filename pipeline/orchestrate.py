"""The stages a scheduler calls, with JSON in and JSON out (ids and URIs, never audio): what the Airflow tasks
run, usable from any other orchestrator too. No Airflow imports here.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from pipeline.audio.profiles import resolve_profile
from pipeline.compute.cluster import LazyClient
from pipeline.compute.fanout import synthesize
from pipeline.compute.finish import finish
from pipeline.deliver import package, publish_package
from pipeline.scripts.ingest import ingest_bytes
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.storage.connect import connect_store
from pipeline.storage.inbox import discover
from pipeline.voices.catalog import load_catalog

log = logging.getLogger(__name__)
_INBOX_KEY = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]{0,63})/\d{4}-\d{2}-\d{2}/[a-z0-9][a-z0-9._-]{0,80}")


def discover_scripts(settings: Settings, project: str, start: date | None, end: date | None,
                     script_key: str | None = None) -> list[dict[str, str]]:  # fmt: skip
    """The inbox scripts of one data interval (or the one named), as task inputs."""
    store, _ = connect_store(settings)
    if script_key:
        match = _INBOX_KEY.fullmatch(script_key)
        if not match or match.group(1) != keys.project_id(project) or not store.exists("inbox", script_key):
            raise ValueError(f"script {script_key!r} is not in the inbox of project {project!r} "
                             "(expected project/YYYY-MM-DD/file)")  # fmt: skip
        names = [script_key]
    elif start is None or end is None:
        raise ValueError("discover_scripts needs a data interval or a script key")
    else:
        names = [item.key for item in discover(store, project, start, end)]
    return [{"project": project, "script_key": name, "name": name.rsplit("/", 1)[-1]} for name in names]


def voice_script(settings: Settings, item: dict[str, str], run_id: str, *, profile: str | None = None,
                 force: bool = False, dry_run: bool = False) -> dict[str, Any]:  # fmt: skip
    """Ingest → synthesize (Dask) → post-process + QA (Dask) → package → publish, for one inbox script.

    Safe to retry after a kill at any point: synthesis and QA results are cached by content, and publishing
    completes the same version without uploading anything twice.
    """
    store, _ = connect_store(settings)
    catalog = load_catalog(settings.voices_file)
    project = item["project"]
    data = store.get_bytes("inbox", item["script_key"])
    ingested = ingest_bytes(data, item["name"], settings.ingest, voice_map=catalog.voice_map(project))
    summary: dict[str, Any] = {
        "project": project, "script_key": item["script_key"], "script_id": ingested.script_id,
        "lines": len(ingested.lines), "problems": [str(p) for p in ingested.problems],
    }  # fmt: skip
    if not ingested.ok:
        raise ValueError(f"{item['script_key']}: {len(ingested.errors)} error(s): "
                         + "; ".join(str(p) for p in ingested.errors[:10]))  # fmt: skip
    if dry_run:
        return {**summary, "status": "validated (dry run)"}
    chosen = resolve_profile(settings.audio.profiles_file, profile or settings.audio.profile, settings.audio.overrides)
    with LazyClient(settings.dask) as client:
        report = synthesize(ingested.lines, catalog, project, settings, store, client=client, force=force)
        checked = finish(report, settings, chosen, store, client)
    with TemporaryDirectory(prefix="dubflow-package-") as folder:
        pkg = package(ingested.lines, checked, chosen, store, Path(folder), project, ingested.script_id)
        published = publish_package(store, pkg, run_id, {"name": item["name"], "inbox_key": item["script_key"]})
    summary.update(
        status="published" if published else "nothing passed QA",
        synthesis=report.summary(), failed=[r.line.line_id for r in report.failed], qa=pkg.qa.counts(),
        version=published.version if published else None,
        manifest=f"s3://{store.bucket('assets')}/{published.manifest_key}" if published else None,
        uploaded=published.uploaded if published else 0, already_published=bool(published and
                                                                                published.already_published),
    )  # fmt: skip
    log.info("%s", summary)
    return summary


def rebuild_catalog(settings: Settings, project: str | None, since: date, until: date) -> dict[str, Any]:
    """Re-derive the catalog parts of every version published in [since, until] from its manifest."""
    from pipeline.storage.catalog import rebuild

    store, _ = connect_store(settings)
    parts = rebuild(store, project, since, until)
    return {"project": project, "since": since.isoformat(), "until": until.isoformat(), "parts": len(parts)}


def enroll_voices(settings: Settings) -> dict[str, Any]:
    """Check every voice's reference clip (fetched when it is an s3:// URI) and record its content hash, so
    workers and cache keys agree on it; report what is unusable. Raises when any voice has a problem."""
    from pipeline.digest import sha256_file
    from pipeline.voices.catalog import check_reference_clip

    store, _ = connect_store(settings)
    catalog = load_catalog(settings.voices_file)
    checked: dict[str, Any] = {}
    problems = [str(p) for p in catalog.problems if p.severity == "error"]
    for voice in catalog.voices.values():
        if voice.reference is None:
            continue
        path = (store.fetch_uri(voice.reference, Path("var/cache/references")) if voice.reference.startswith("s3://")
                else catalog.reference_path(voice))  # fmt: skip
        reason = check_reference_clip(path) if path is not None else "no local path"
        if reason:
            problems.append(f"{voice.id}: {reason}")
            continue
        checked[voice.id] = {"reference": voice.reference, "sha256": sha256_file(path),
                             "transcript": bool(voice.reference_text)}  # fmt: skip
    if problems:
        raise ValueError("voice catalog problems: " + "; ".join(problems))
    return {"voices": len(catalog.voices), "references": checked}
