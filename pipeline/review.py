"""What a reviewer sees of one run, and what a rejection asks for: no web framework and no Airflow here.

A run's scripts arrive as the voicing task's results (ids and URIs); everything else is read from the published
version itself (manifest + ``qa/report.json``), so the page shows exactly what editors received. Quarantined lines
are shown too, from their staging clip, with the reasons they were held back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.storage.errors import StorageError
from pipeline.storage.store import ObjectStore, split_s3_uri

MAX_NOTE = 1000


class ReviewError(ValueError):
    """A rejection that cannot be queued as asked (unknown line, nothing published, no script key)."""


@dataclass
class CheckView:
    name: str
    verdict: str
    value: str


@dataclass
class LineView:
    line_id: str
    lang: str
    text: str
    verdict: str
    take: int = 0
    published: bool = False
    reasons: list[str] = field(default_factory=list)
    checks: list[CheckView] = field(default_factory=list)
    duration: float | None = None
    audio_url: str | None = None  # presigned; None when there is no clip left to play
    lexicon: list[str] = field(default_factory=list)  # the project lexicon's entries the line used


@dataclass
class ScriptView:
    label: str  # the inbox file name, as Airflow labels the mapped task
    state: str  # the voicing task's state
    map_index: int
    script_key: str | None = None
    script_id: str | None = None
    version: int | None = None
    manifest_uri: str | None = None
    profile: str | None = None
    status: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    report_url: str | None = None
    lines: list[LineView] = field(default_factory=list)
    problem: str | None = None  # why there is nothing to review


def script_view(
    store: ObjectStore, label: str, state: str, map_index: int, result: dict[str, Any] | None
) -> ScriptView:
    """One mapped voicing task's script: its published version's lines, verdicts and players."""
    view = ScriptView(label, state, map_index)
    if not result:
        failed = "the script failed before publishing: see this task's log"
        view.problem = failed if state == "failed" else f"no result yet (task {state})"
        return view
    view.script_key, view.script_id = result.get("script_key"), result.get("script_id")
    view.status, view.counts = result.get("status"), dict(result.get("qa") or {})
    if not result.get("manifest"):
        view.problem = result.get("status") or "nothing was published"
        return view
    try:
        manifest = load_manifest(store, result["manifest"])
    except (StorageError, ValueError) as exc:
        view.problem = f"cannot read {result['manifest']}: {exc}"
        return view
    view.manifest_uri, view.version = result["manifest"], manifest.get("version")
    view.profile = (manifest.get("source") or {}).get("profile")
    prefix = result["manifest"].removesuffix("manifest.json")
    _, prefix_key = split_s3_uri(prefix)
    report = _report(store, prefix_key + "qa/report.json")
    if store.exists("assets", prefix_key + "qa/report.html"):
        view.report_url = store.presigned_get("assets", prefix_key + "qa/report.html")
    published = {entry["line_id"]: entry for entry in manifest.get("lines", [])}
    for qa in report.get("lines", []) if report else []:
        entry = published.get(qa["line_id"])
        said = (qa["line_id"], qa.get("lang", ""), qa.get("text", ""), qa.get("verdict", ""))
        checks = [CheckView(c["name"], c["verdict"], _value(c)) for c in qa.get("checks", [])]
        held = {"reasons": list(qa.get("reasons") or []), "checks": checks, "duration": qa.get("duration_s"),
                "lexicon": list(qa.get("lexicon") or [])}  # fmt: skip
        url, take = _audio_url(store, entry, qa.get("key")), int((entry or {}).get("take", 0))
        view.lines.append(LineView(*said, take, entry is not None, **held, audio_url=url))
    # An older version without a JSON report: the published lines are still reviewable.
    for e in published.values() if not report else []:
        said = (e["line_id"], e.get("lang", ""), e.get("text") or "", e.get("qa_verdict", ""))
        view.lines.append(LineView(*said, int(e.get("take", 0)), True, audio_url=_audio_url(store, e, None)))
    return view


def load_manifest(store: ObjectStore, uri: str) -> dict[str, Any]:
    """A published manifest, only from this deployment's assets bucket: a result cannot point the page elsewhere."""
    bucket, key = split_s3_uri(uri)
    if bucket != store.bucket("assets") or not key.endswith("/manifest.json"):
        raise ValueError(f"{uri} is not a manifest in s3://{store.bucket('assets')}/")
    return json.loads(store.get_bytes("assets", key))


def retake_conf(
    manifest: dict[str, Any], script_key: str | None, rejected: dict[str, str], reviewer: str
) -> dict[str, Any]:
    """The DAG-run conf that re-voices ``rejected`` (line_id → note) of this version as each line's next take.

    Takes count from the reviewed version, so the same rejection queued twice asks for the same take, which
    the synthesis cache and the publish protocol turn into one new version, not two."""
    if not rejected:
        raise ReviewError("select at least one line to reject")
    if not script_key:
        raise ReviewError(f"{manifest.get('script_id')}: the run did not record its inbox key; trigger it by hand")
    source = manifest.get("source") or {}
    # A retake that QA then quarantined is not among the published lines, but its take was used: count from it.
    takes = {line: int(review.get("take", 0)) for line, review in (source.get("review") or {}).items()}
    for entry in manifest.get("lines", []):
        takes[entry["line_id"]] = max(takes.get(entry["line_id"], 0), int(entry.get("take", 0)))
    quarantined = source.get("quarantined") or {}
    unknown = sorted(set(rejected) - {entry["line_id"] for entry in manifest.get("lines", [])} - set(quarantined))
    if unknown:
        raise ReviewError(f"{manifest.get('script_id')} v{manifest.get('version')} has no line(s) {', '.join(unknown)}")
    too_long = [line for line, note in rejected.items() if len(note) > MAX_NOTE]
    if too_long:
        raise ReviewError(f"note for {too_long[0]} is longer than {MAX_NOTE} characters")
    asked = {"reviewer": reviewer, "from_version": manifest.get("version")}
    retake = {
        line: {"take": takes.get(line, 0) + 1, "note": note.strip(), **asked} for line, note in sorted(rejected.items())
    }
    conf: dict[str, Any] = {"project": manifest["project"], "script_key": script_key, "retake": retake}
    if profile := (manifest.get("source") or {}).get("profile"):
        conf["profile"] = profile
    return conf


def _report(store: ObjectStore, key: str) -> dict[str, Any] | None:
    if not store.exists("assets", key):
        return None
    return json.loads(store.get_bytes("assets", key))


def _audio_url(store: ObjectStore, entry: dict[str, Any] | None, staging_key: str | None) -> str | None:
    """The published file; for a quarantined line, its processed clip in staging while it is still there."""
    if entry is not None:
        _, key = split_s3_uri(entry["key"]) if entry["key"].startswith("s3://") else ("", entry["key"])
        return store.presigned_get("assets", key)
    if staging_key and store.exists("staging", staging_key):
        return store.presigned_get("staging", staging_key)
    return None


def _value(check: dict[str, Any]) -> str:
    value = check.get("value")
    if value is None:
        return "—"
    unit = check.get("unit") or ""
    return f"{value:.2f} {unit}".strip() if isinstance(value, float) else f"{value} {unit}".strip()
