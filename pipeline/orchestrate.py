"""The stages a scheduler calls, with JSON in and JSON out (ids and URIs, never audio): what the Airflow tasks
run, usable from any other orchestrator too. No Airflow imports here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypedDict, Unpack

from pipeline import chain
from pipeline.chain import MAX_TAKE, InputError, Options, Script
from pipeline.compute.cluster import LazyClient
from pipeline.enrollment.record import with_enrollments
from pipeline.progress import ProgressRecorder
from pipeline.scripts.formats import suffixes
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.storage.connect import connect_store
from pipeline.storage.inbox import discover
from pipeline.storage.locks import Holder
from pipeline.voices.catalog import load_catalog

# The stages, and what they take from the chain: the highest take a retake may ask for, the error of a bad request.
__all__ = ["discover_scripts", "enroll_voices", "rebuild_catalog", "script_kind", "voice_script"]
__all__ += ["MAX_TAKE", "InputError"]

log = logging.getLogger(__name__)
_INBOX_KEY = re.compile(keys.INBOX_KEY_PATTERN)


# Which voicing DAG picks a script up, by the ingest format family of its suffix: dialogue comes as subtitles or
# line sheets, narration as manuscripts.
SCRIPT_KINDS: dict[str, frozenset[str]] = {kind: suffixes(kind=kind) for kind in ("dubbing", "narration")}


def script_kind(name: str) -> str | None:
    """``dubbing`` or ``narration`` for a script file name, None for a suffix no format reads."""
    suffix = Path(name).suffix.lower()
    return next((kind for kind, members in SCRIPT_KINDS.items() if suffix in members), None)


Day = date | None  # a bound of the data interval; None for a script named by its key


Kinds = Collection[str] | None  # of the interval's scripts, only those of these kinds (``SCRIPT_KINDS``)


def discover_scripts(
    settings: Settings,
    project: str,
    start: Day,
    end: Day,
    script_key: str | None = None,
    *,
    kinds: Kinds = None,
    retake: Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    """The inbox scripts of one data interval (or the one named), as task inputs; ``kinds`` limits the interval's
    scripts to those kinds (see ``SCRIPT_KINDS``). A retake re-voices lines of one script, so it needs its key."""
    if kinds is not None and (unknown := sorted(set(kinds) - set(SCRIPT_KINDS))):
        raise InputError(f"unknown script kind(s) {unknown}; known: {sorted(SCRIPT_KINDS)}")
    if retake and not script_key:
        lines = ", ".join(sorted(retake))
        needs = "needs the script_key of the one script they belong to (project/YYYY-MM-DD/file)"
        raise InputError(f"a retake of line(s) {lines} {needs}; a retake never voices a whole interval")
    store, _ = connect_store(settings)
    if script_key:
        match = _INBOX_KEY.fullmatch(script_key)
        if not match or match.group(1) != keys.project_id(project) or not store.exists("inbox", script_key):
            raise InputError(
                f"script {script_key!r} is not in the inbox of project {project!r} (expected project/YYYY-MM-DD/file)"
            )
        # A script named explicitly is voiced whatever its kind: someone asked for exactly this file (the review
        # page re-triggers a retake on the DAG it picked), and refusing would only make them trigger the other DAG.
        # The kind filter exists so that the scheduled discovery of two DAGs over one inbox never voices a script
        # twice; naming one script cannot cause that.
        if kinds is not None and script_kind(script_key) not in kinds:
            named = "voicing %s (a %s script) although this DAG voices %s scripts: it was asked for by name"
            log.warning(named, script_key, script_kind(script_key), "/".join(sorted(kinds)))
        names = [script_key]
    elif start is None or end is None:
        raise InputError("discover_scripts needs a data interval or a script key")
    else:
        # A file no format reads belongs to no kind: every DAG keeps it, so its ingest error is reported instead of
        # the file being silently skipped by both.
        found = [item.key for item in discover(store, project, start, end)]
        names = [key for key in found if kinds is None or script_kind(key) in (*kinds, None)]
    return [{"project": project, "script_key": name, "name": name.rsplit("/", 1)[-1]} for name in names]


class Asked(TypedDict, total=False):
    """What a voicing task may ask besides its script (``chain.Options``: the trigger form's fields)."""

    profile: str | None
    force: bool
    dry_run: bool
    retake: Mapping[str, Mapping[str, Any]] | None
    voices: Mapping[str, str] | None
    engine: str | None


def voice_script(settings: Settings, item: dict[str, str], run_id: str, **asked: Unpack[Asked]) -> dict[str, Any]:
    """One inbox script through the voicing chain (``pipeline.chain.voice``): the Airflow task's body.

    ``retake`` (from the review page: line id → {take, note, reviewer, from_version}) voices those lines as that
    take: a new seed and cache key, so new audio and a new version; the manifest records each line's ``take`` and
    the reviews in ``source.review``. ``voices`` (speaker → voice id) overrides the project's speaker mapping for
    this run; ``engine`` speaks every line with that engine. Both are recorded in ``source.overrides``.
    """
    store, _ = connect_store(settings)
    catalog = with_enrollments(load_catalog(settings.voices_file), store)
    project, key = item["project"], item["script_key"]
    script = Script(item["name"], store.get_bytes("inbox", key), project, {"inbox_key": key})
    options = Options(run_id, **asked)

    class Logged(ProgressRecorder):  # progress in staging for the review page, and in the task log
        def waiting(self, holder: Holder) -> None:
            voicing = (project, script.name, holder.describe(), settings.synthesis.script_lock_wait)
            log.info("%s/%s is being voiced by %s: waiting for it (up to %.0f s)", *voicing)

    with LazyClient(settings.dask) as client, Logged(store, run_id, script.name) as watcher:
        outcome = chain.voice(settings, script, options, store=store, catalog=catalog, client=client, watcher=watcher)
        watcher.progress.result = outcome.status
    if outcome.status == "refused":
        errors = outcome.ingested.errors
        raise InputError(f"{key}: {len(errors)} error(s): " + "; ".join(str(p) for p in errors[:10]))
    summary = outcome.summary(store)
    log.info("%s", summary)
    return summary


def rebuild_catalog(settings: Settings, project: str | None, since: date, until: date) -> dict[str, Any]:
    """Re-derive the catalog parts of every version published in [since, until] from its manifest."""
    from pipeline.storage.asset_catalog import rebuild

    store, _ = connect_store(settings)
    parts = rebuild(store, project, since, until)
    return {"project": project, "since": since.isoformat(), "until": until.isoformat(), "parts": len(parts)}


def enroll_voices(settings: Settings, voice_ids: list[str] | None = None, force: bool = False) -> dict[str, Any]:
    """Enroll every catalog voice (or ``voice_ids``) with no current enrollment: a reference clip is checked,
    prepared, transcribed and stored; a CPU voice speaks its own reference. Every voice is tried; the run raises
    at the end, naming each refused voice and why, so one bad clip never hides the others' results."""
    from pipeline.engines.registry import EngineRegistry
    from pipeline.enrollment.enroll import enroll_new
    from pipeline.qa.models import default_asr_models

    store, _ = connect_store(settings)
    catalog = load_catalog(settings.voices_file)
    problems = [str(p) for p in catalog.problems if p.severity == "error"]
    unknown = [v for v in voice_ids or () if v not in catalog.voices]
    problems += [f"voice '{v}' is not in the catalog {catalog.path}" for v in unknown]
    if problems:
        raise InputError("voice catalog problems: " + "; ".join(problems))
    asr = {**default_asr_models(settings.qa.model_cache), **settings.qa.asr_models}
    outcome = enroll_new(store, EngineRegistry(settings.engines), catalog, asr, voice_ids, force)
    for voice_id, record in outcome.enrolled.items():
        said = f"transcript from the {record.transcript_source}" if record.confirmed else "Whisper's transcript"
        log.info("enrolled %s: %.1f s clip, %s: %s", voice_id, record.duration_s, said, record.transcript)
        for warning in record.warnings():
            log.warning("%s: %s", voice_id, warning)
    summary = {
        "enrolled": {v: _enrolled(r) for v, r in outcome.enrolled.items()},
        "kept": sorted(outcome.kept),
        "skipped": outcome.skipped,
        "failed": outcome.failed,
    }
    if outcome.failed:
        raise InputError("voices not enrolled: " + "; ".join(outcome.failed.values()))
    return summary


def _enrolled(record: Any) -> dict[str, Any]:
    return {
        "clip": record.clip_key,
        "seconds": record.duration_s,
        "transcript": record.transcript,
        "confirmed": record.confirmed,
        "warnings": record.warnings(),
    }
