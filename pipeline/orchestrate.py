"""The stages a scheduler calls, with JSON in and JSON out (ids and URIs, never audio): what the Airflow tasks
run, usable from any other orchestrator too. No Airflow imports here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from pipeline.audio.profiles import resolve_profile
from pipeline.compute.cluster import LazyClient
from pipeline.compute.fanout import synthesize
from pipeline.compute.finish import finish
from pipeline.deliver import package, publish_package
from pipeline.events import RunTag, script_event
from pipeline.scripts import linesheet, manuscript, subtitles
from pipeline.scripts.ingest import ingest_bytes
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.storage.connect import connect_store
from pipeline.storage.inbox import discover
from pipeline.storage.locks import Holder, script_lock
from pipeline.storage.publish import list_versions, read_manifest
from pipeline.storage.store import ObjectStore
from pipeline.voices.catalog import load_catalog

log = logging.getLogger(__name__)
_INBOX_KEY = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]{0,63})/\d{4}-\d{2}-\d{2}/[a-z0-9][a-z0-9._-]{0,80}")
MAX_TAKE = 99  # the review page's retake numbers (the DAG's ``retake`` param says the same)


class InputError(ValueError):
    """The request or the script itself is wrong (a malformed script, an unknown line, voice or engine): running
    it again cannot help, so an orchestrator should fail at once instead of retrying."""


# Which voicing DAG picks a script up, by the ingest format family of its suffix: dialogue comes as subtitles or
# line sheets, narration as manuscripts.
SCRIPT_KINDS: dict[str, frozenset[str]] = {
    "dubbing": frozenset({*subtitles.FORMATS, *linesheet.FORMATS}),
    "narration": frozenset(manuscript.FORMATS),
}


def script_kind(name: str) -> str | None:
    """``dubbing`` or ``narration`` for a script file name, None for a suffix no format reads."""
    suffix = Path(name).suffix.lower()
    return next((kind for kind, suffixes in SCRIPT_KINDS.items() if suffix in suffixes), None)


def discover_scripts(settings: Settings, project: str, start: date | None, end: date | None,
                     script_key: str | None = None, *, kinds: Collection[str] | None = None,
                     retake: Mapping[str, Any] | None = None) -> list[dict[str, str]]:  # fmt: skip
    """The inbox scripts of one data interval (or the one named), as task inputs; ``kinds`` limits the interval's
    scripts to those kinds (see ``SCRIPT_KINDS``). A retake re-voices lines of one script, so it needs its key."""
    if kinds is not None and (unknown := sorted(set(kinds) - set(SCRIPT_KINDS))):
        raise InputError(f"unknown script kind(s) {unknown}; known: {sorted(SCRIPT_KINDS)}")
    if retake and not script_key:
        raise InputError(f"a retake of line(s) {', '.join(sorted(retake))} needs the script_key of the one "
                         "script they belong to (project/YYYY-MM-DD/file); a retake never voices a whole "
                         "interval")  # fmt: skip
    store, _ = connect_store(settings)
    if script_key:
        match = _INBOX_KEY.fullmatch(script_key)
        if not match or match.group(1) != keys.project_id(project) or not store.exists("inbox", script_key):
            raise InputError(f"script {script_key!r} is not in the inbox of project {project!r} "
                             "(expected project/YYYY-MM-DD/file)")  # fmt: skip
        # A script named explicitly is voiced whatever its kind: someone asked for exactly this file (the review
        # page re-triggers a retake on the DAG it picked), and refusing would only make them trigger the other DAG.
        # The kind filter exists so that the scheduled discovery of two DAGs over one inbox never voices a script
        # twice; naming one script cannot cause that.
        if kinds is not None and script_kind(script_key) not in kinds:
            log.warning("voicing %s (a %s script) although this DAG voices %s scripts: it was asked for by name",
                        script_key, script_kind(script_key), "/".join(sorted(kinds)))  # fmt: skip
        names = [script_key]
    elif start is None or end is None:
        raise InputError("discover_scripts needs a data interval or a script key")
    else:
        # A file no format reads belongs to no kind: every DAG keeps it, so its ingest error is reported instead of
        # the file being silently skipped by both.
        names = [item.key for item in discover(store, project, start, end)
                 if kinds is None or script_kind(item.key) in (*kinds, None)]  # fmt: skip
    return [{"project": project, "script_key": name, "name": name.rsplit("/", 1)[-1]} for name in names]


def voice_script(settings: Settings, item: dict[str, str], run_id: str, *, profile: str | None = None,
                 force: bool = False, dry_run: bool = False,
                 retake: Mapping[str, Mapping[str, Any]] | None = None, voices: Mapping[str, str] | None = None,
                 engine: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Ingest → synthesize (Dask) → post-process + QA (Dask) → package → publish, for one inbox script.

    Safe to retry after a kill at any point: synthesis and QA results are cached by content, and publishing
    completes the same version without uploading anything twice.

    ``retake`` (from the review page: line id → {take, note, reviewer, from_version}) voices those lines as that
    take: a new seed and cache key, so new audio and a new version; the manifest records each line's ``take`` and
    the reviews in ``source.review``. Takes stick: a later run without a retake (a retry, a backfill) voices every
    line at the take of the latest published version, so it never reverts accepted retakes in a new version.

    ``voices`` (speaker → voice id) overrides the project's speaker mapping for this run; ``engine`` speaks every
    line with that engine (its default voice for the language where the catalog voice belongs to another engine).
    Both are recorded in the manifest's ``source.overrides``.
    """
    store, _ = connect_store(settings)
    catalog = load_catalog(settings.voices_file)
    project = item["project"]
    data = store.get_bytes("inbox", item["script_key"])
    overrides = _check_overrides(catalog, voices or {}, engine, settings)
    voice_map = {**catalog.voice_map(project), **overrides.get("voices", {})}
    ingested = ingest_bytes(data, item["name"], settings.ingest, voice_map=voice_map)
    summary: dict[str, Any] = {
        "project": project, "script_key": item["script_key"], "script_id": ingested.script_id,
        "lines": len(ingested.lines), "problems": [str(p) for p in ingested.problems],
    }  # fmt: skip
    script_event(log, "script ingested", RunTag(run_id, project), ingested.script_id, script_key=item["script_key"],
                 lines=len(ingested.lines), ok=ingested.ok)  # fmt: skip
    if not ingested.ok:
        raise InputError(f"{item['script_key']}: {len(ingested.errors)} error(s): "
                         + "; ".join(str(p) for p in ingested.errors[:10]))  # fmt: skip
    line_ids = {line.line_id for line in ingested.lines}
    review = _check_retake(retake or {}, line_ids, item["script_key"])
    summary["retakes"] = sorted(review)
    if dry_run:
        return {**summary, "status": "validated (dry run)"}
    chosen = resolve_profile(settings.audio.profiles_file, profile or settings.audio.profile, settings.audio.overrides)

    def waiting(holder: Holder) -> None:
        log.info("%s/%s is being voiced by %s: waiting for it (up to %.0f s)", project, ingested.script_id,
                 holder.describe(), settings.synthesis.script_lock_wait)  # fmt: skip

    with script_lock(store, project, ingested.script_id, run_id, wait=settings.synthesis.script_lock_wait,
                     on_wait=waiting):  # fmt: skip
        carried, carried_review = _published_takes(store, project, ingested.script_id, line_ids)
        takes = {**carried, **{line_id: entry["take"] for line_id, entry in review.items()}}
        review = {**carried_review, **review}
        with LazyClient(settings.dask) as client:
            report = synthesize(ingested.lines, catalog, project, settings, store, client=client, force=force,
                                takes=takes, engine=engine, run_id=run_id)  # fmt: skip
            checked = finish(report, settings, chosen, store, client, force=force)
        with TemporaryDirectory(prefix="dubflow-package-") as folder:
            pkg = package(ingested.lines, checked, chosen, store, Path(folder), project, ingested.script_id, takes)
            source = {"name": item["name"], "inbox_key": item["script_key"], "review": dict(sorted(review.items()))}
            if overrides:
                source["overrides"] = overrides
            published = publish_package(store, pkg, run_id, source)
    summary.update(
        status="published" if published else "nothing passed QA", takes=dict(sorted(takes.items())),
        synthesis=report.summary(), failed=[r.line.line_id for r in report.failed], qa=pkg.qa.counts(),
        version=published.version if published else None,
        manifest=f"s3://{store.bucket('assets')}/{published.manifest_key}" if published else None,
        uploaded=published.uploaded if published else 0, already_published=bool(published and
                                                                                published.already_published),
    )  # fmt: skip
    script_event(log, "script voiced", RunTag(run_id, project), ingested.script_id, status=summary["status"],
                 version=summary["version"], lines=summary["lines"], failed=summary["failed"] or None,
                 qa=" ".join(f"{k}:{v}" for k, v in summary["qa"].items()))  # fmt: skip
    log.info("%s", summary)
    return summary


def _check_overrides(catalog: Any, voices: Mapping[str, str], engine: str | None,
                     settings: Settings) -> dict[str, Any]:  # fmt: skip
    """The trigger form's voice and engine overrides, checked against the catalog and the enabled engines before
    anything runs (a typo must not silently fall back to the default voice)."""
    unknown = sorted({voice for voice in voices.values() if voice not in catalog.voices})
    if unknown:
        raise InputError(f"voice override(s) name voices not in {catalog.path}: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(catalog.voices))})")  # fmt: skip
    if engine is not None and engine not in settings.engines.enabled:
        raise InputError(f"engine override {engine!r} is not enabled (engines.enabled: "
                         f"{', '.join(settings.engines.enabled)})")  # fmt: skip
    overrides: dict[str, Any] = {}
    if voices:
        overrides["voices"] = dict(sorted(voices.items()))
    if engine:
        overrides["engine"] = engine
    return overrides


def _check_retake(retake: Mapping[str, Mapping[str, Any]], line_ids: Collection[str],
                  script_key: str) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The retake request as the manifest records it. Checked here too (not only by the DAG's param schema):
    other callers exist, and a bad request must fail before any synthesis."""
    unknown = sorted(set(retake) - set(line_ids))
    if unknown:
        raise InputError(f"retake names line(s) that are not in script {script_key}: {', '.join(unknown)}")
    review: dict[str, dict[str, Any]] = {}
    for line_id, entry in retake.items():
        take = entry.get("take") if isinstance(entry, Mapping) else None
        if isinstance(take, bool) or not isinstance(take, int) or not 1 <= take <= MAX_TAKE:
            raise InputError(f"retake of line {line_id} in {script_key}: take must be an integer 1..{MAX_TAKE}, "
                             f"not {take!r}")  # fmt: skip
        from_version = entry.get("from_version")
        if from_version is not None and (isinstance(from_version, bool) or not isinstance(from_version, int)):
            raise InputError(f"retake of line {line_id} in {script_key}: from_version must be an integer or null")
        review[line_id] = {"take": take, "note": str(entry.get("note") or ""),
                           "reviewer": str(entry.get("reviewer") or ""), "from_version": from_version}  # fmt: skip
    return review


def _published_takes(store: ObjectStore, project: str, script_id: str, line_ids: Collection[str]
                     ) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:  # fmt: skip
    """The retakes of the latest published version (line id → take, and their reviews), for lines still in the
    script. A quarantined retake is not among the version's lines but is in its reviews: it keeps its take too."""
    for version in reversed(list_versions(store, project, script_id)):
        manifest = read_manifest(store, project, script_id, version)
        if manifest is None:  # an interrupted publish: nothing of it was ever visible
            continue
        reviews = manifest.get("source", {}).get("review") or {}
        takes = {line_id: int(entry["take"]) for line_id, entry in reviews.items() if entry.get("take")}
        takes.update({line["line_id"]: int(line["take"]) for line in manifest["lines"] if line.get("take")})
        takes = {line_id: take for line_id, take in takes.items() if line_id in line_ids}
        return takes, {line_id: reviews[line_id] for line_id in takes if line_id in reviews}
    return {}, {}


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
        raise InputError("voice catalog problems: " + "; ".join(problems))
    return {"voices": len(catalog.voices), "references": checked}
