"""What a reviewer sees of one run, and what a rejection asks for: no web framework and no Airflow here.

A run's scripts arrive as the voicing task's results (ids and URIs); everything else is read from the published
version itself (manifest + ``qa/report.json``), so the page shows exactly what editors received. Quarantined lines
are shown too, from their staging clip, with the reasons they were held back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.qa.results import Check
from pipeline.storage.errors import StorageError
from pipeline.storage.store import ObjectStore, split_s3_uri

MAX_NOTE = 1000
PAGE_SIZE = 50  # lines per page of the review


class ReviewError(ValueError):
    """A rejection that cannot be queued as asked (unknown line, nothing published, no script key)."""


@dataclass
class CheckView:
    name: str
    verdict: str
    value: str  # measured, with its unit ("0.5 WER", "542 ms short of the slot")
    threshold: str = ""  # what it was held to
    detail: str = ""  # why, or what was heard


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
    cue: int | None = None  # position in the script, from 1
    source_line: int | None = None  # line of the script file
    speaker: str | None = None
    style: str | None = None
    start: float | None = None  # the slot in the programme (dubbing)
    end: float | None = None
    voice: str | None = None
    engine: str | None = None
    spoken_text: str | None = None
    attempts: int = 1
    review: dict[str, Any] = field(default_factory=dict)  # the reviewer's note and change that made this take
    previous_url: str | None = None  # the take it replaced, from the version the reviewer heard (A/B)

    @property
    def flagged(self) -> list[CheckView]:
        """The checks a reviewer must see: failing first, then warning."""
        return sorted((c for c in self.checks if c.verdict in ("fail", "warn")), key=lambda c: c.verdict != "fail")

    @property
    def shown_verdict(self) -> str:
        return self.verdict if self.published else "quarantined"

    @property
    def slot(self) -> float | None:
        return None if self.start is None or self.end is None else self.end - self.start

    @property
    def chips(self) -> list[tuple[str, str]]:
        return text_chips(self.text)


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
    matching: int = 0  # lines that pass the page's filters (``lines`` holds one page of them)
    total: int = 0
    page: int = 1
    pages: int = 1

    def paged(self, filters: Filters, page: int, size: int = PAGE_SIZE) -> ScriptView:
        """Only the lines that pass ``filters``, one page of them: a 1,000-line script is reviewed 50 at a time."""
        matching = [line for line in self.lines if filters.keeps(line)]
        self.total, self.matching = len(self.lines), len(matching)
        self.pages = max(1, -(-len(matching) // size))
        self.page = min(max(1, page), self.pages)
        self.lines = matching[(self.page - 1) * size : self.page * size]
        return self


@dataclass(frozen=True)
class Filters:
    """The review page's filters (empty: any)."""

    verdict: str = ""  # pass / warn / fail / not-checked / quarantined
    speaker: str = ""
    engine: str = ""

    def keeps(self, line: LineView) -> bool:
        return (
            (not self.verdict or line.shown_verdict == self.verdict)
            and (not self.speaker or (line.speaker or "") == self.speaker)
            and (not self.engine or (line.engine or "") == self.engine)
        )

    @staticmethod
    def choices(scripts: list[ScriptView]) -> dict[str, list[str]]:
        lines = [line for script in scripts for line in script.lines]
        return {
            "verdict": sorted({line.shown_verdict for line in lines}),
            "speaker": sorted({line.speaker for line in lines if line.speaker}),
            "engine": sorted({line.engine for line in lines if line.engine}),
        }


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
    if store.exists("assets", prefix_key + "qa/report.html") and view.version is not None:
        # the plugin's stable link (relative to the page's /dubflow/ root), not a presigned URL that lapses
        view.report_url = report_path(manifest["project"], manifest["script_id"], view.version).removeprefix("/")
    published = {entry["line_id"]: entry for entry in manifest.get("lines", [])}
    for qa in report.get("lines", []) if report else []:
        entry = published.get(qa["line_id"])
        said = (qa["line_id"], qa.get("lang", ""), qa.get("text", ""), qa.get("verdict", ""))
        checks = [_check(c) for c in qa.get("checks", [])]
        held = {"reasons": list(qa.get("reasons") or []), "checks": checks, "duration": qa.get("duration_s"),
                "lexicon": list(qa.get("lexicon") or [])}  # fmt: skip
        # Where the line sits and who speaks it (reports from before these fields simply lack them).
        placed = {"cue": qa.get("cue"), "source_line": qa.get("source_line"), "speaker": qa.get("speaker"),
                  "style": qa.get("style"), "start": qa.get("slot_start_s"), "end": qa.get("slot_end_s"),
                  "voice": qa.get("voice"), "engine": qa.get("engine"), "spoken_text": qa.get("spoken_text"),
                  "attempts": int(qa.get("attempts") or 1)}  # fmt: skip
        url, take = _audio_url(store, entry, qa.get("key")), int((entry or {}).get("take", 0))
        view.lines.append(LineView(*said, take, entry is not None, **held, audio_url=url, **placed))
    reviews = (manifest.get("source") or {}).get("review") or {}
    earlier: dict[int, dict[str, Any]] = {}  # from_version → its lines, read once
    for line in view.lines:
        review = reviews.get(line.line_id)
        # A take carried from before is not this version's news; a quarantined retake has no published take to
        # compare, and is exactly the one a reviewer needs to see.
        if not review or (line.published and review.get("take") != line.take):
            continue
        line.review = review
        before = review.get("from_version")
        if isinstance(before, int) and before != view.version:
            if before not in earlier:
                earlier[before] = _version_lines(store, prefix_key, view.version, before)
            if (entry := earlier[before].get(line.line_id)) is not None:
                line.previous_url = _audio_url(store, entry, None)
    # An older version without a JSON report: the published lines are still reviewable.
    for e in published.values() if not report else []:
        said = (e["line_id"], e.get("lang", ""), e.get("text") or "", e.get("qa_verdict", ""))
        view.lines.append(LineView(*said, int(e.get("take", 0)), True, audio_url=_audio_url(store, e, None)))
    return view


def report_path(project: str, script_id: str, version: int) -> str:
    """The plugin's stable, login-protected address of a version's QA report (under its base URL + ``/dubflow``):
    unlike a presigned URL it does not expire, so it can be pasted into a ticket."""
    return f"/dubflow/report/{project}/{script_id}/v{version}/qa/report.html"


def published_header(manifest: dict[str, Any]) -> str:
    """What the stored report cannot say about itself (it is made before its version exists): version, run, date."""
    source = manifest.get("source") or {}
    when = str(manifest.get("published_at") or manifest.get("created_at") or "")[:16].replace("T", " ")
    parts = [f"v{manifest.get('version')}", f"project {manifest.get('project')}", f"script {manifest.get('script_id')}"]
    parts += [f"profile {source.get('profile')}", f"run {manifest.get('run_id')}"]
    if when:
        parts.append(f"published {when} UTC")
    return " · ".join(parts)


def load_manifest(store: ObjectStore, uri: str) -> dict[str, Any]:
    """A published manifest, only from this deployment's assets bucket: a result cannot point the page elsewhere."""
    bucket, key = split_s3_uri(uri)
    if bucket != store.bucket("assets") or not key.endswith("/manifest.json"):
        raise ValueError(f"{uri} is not a manifest in s3://{store.bucket('assets')}/")
    return json.loads(store.get_bytes("assets", key))


CHANGES = {  # what a retake may change, as the review page offers it
    "take": "another take (a new seed)",
    "style": "a style instruction",
    "speed": "the speed",
    "voice": "another voice",
    "say": "how it is said (markup)",
}
MAX_CHANGE_TEXT = 2000


def check_change(change: Any, where: str) -> dict[str, Any]:
    """A reviewer's change for a retake, any of: ``style`` (an instruction), ``speed`` (a factor in
    ``SPEED_RANGE`` on top of the line's style), ``voice`` (a catalog id, checked against the catalog by the chain)
    and ``say`` (valid markup to speak instead of the line's words). The one rule for the review page, the DAG's
    conf and the chain; raises ``ReviewError`` naming ``where``."""
    from pipeline.text.markup import MarkupError, parse
    from pipeline.text.style import SPEED_RANGE

    if not change:
        return {}
    fields = set(CHANGES) - {"take"}
    if not isinstance(change, Mapping) or not set(change) <= fields | {"for_text"}:
        raise ReviewError(f"{where}: a change names only {', '.join(sorted(fields))}, not {change!r}")
    checked: dict[str, Any] = {}
    for name, value in change.items():
        if name == "speed":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ReviewError(f"{where}: speed {value!r} is not a number (e.g. 0.9 for slower)")
            if not SPEED_RANGE[0] <= value <= SPEED_RANGE[1]:
                raise ReviewError(f"{where}: speed {value:g} is outside {SPEED_RANGE[0]:g}–{SPEED_RANGE[1]:g}")
            checked["speed"] = float(value)
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_CHANGE_TEXT:
            raise ReviewError(f"{where}: {name} must be non-empty text of at most {MAX_CHANGE_TEXT:,} characters")
        if name == "say":
            try:
                parse(value)
            except MarkupError as exc:
                raise ReviewError(f"{where}: how it is said: {exc}") from None
        checked[name] = value.strip() if name != "for_text" else value
    return checked


def retake_asks(form: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
    """The review form's rejected lines (``reject``; per line ``note:``, ``change:`` and the changed value in
    ``style:``, ``speed:``, ``voice:`` or ``say:``) → line id → {"note", "change"}; a bad value names its line."""
    asks: dict[str, dict[str, Any]] = {}
    for line in form.get("reject", []):

        def value(name: str, line: str = line) -> str:
            return (form.get(f"{name}:{line}") or [""])[0].strip()

        kind = value("change") or "take"
        if kind not in CHANGES:
            raise ReviewError(f"{line}: unknown change {kind!r} (one of {', '.join(CHANGES)})")
        if kind != "take" and not value(kind):
            raise ReviewError(f"{line}: {CHANGES[kind]} was chosen but left empty")
        asked: Any = value(kind)
        if kind == "speed":
            try:
                asked = float(asked)
            except ValueError:
                raise ReviewError(f"{line}: speed {asked!r} is not a number (e.g. 0.9 for slower)") from None
        change = check_change({kind: asked}, line) if kind != "take" else {}
        asks[line] = {"note": value("note"), "change": change}
    return asks


def retake_conf(
    manifest: dict[str, Any], script_key: str | None, rejected: Mapping[str, str | Mapping[str, Any]], reviewer: str
) -> dict[str, Any]:
    """The DAG-run conf that re-voices ``rejected`` (line_id → note, or → {"note", "change"}) of this version as
    each line's next take, with what the reviewer asked to change.

    Takes count from the reviewed version, so the same rejection queued twice asks for the same take, which
    the synthesis cache and the publish protocol turn into one new version, not two."""
    if not rejected:
        raise ReviewError("select at least one line to reject")
    if not script_key:
        raise ReviewError(f"{manifest.get('script_id')}: the run did not record its inbox key; trigger it by hand")
    asks = {line: {"note": ask} if isinstance(ask, str) else dict(ask) for line, ask in rejected.items()}
    source = manifest.get("source") or {}
    # A retake that QA then quarantined is not among the published lines, but its take was used: count from it.
    takes = {line: int(review.get("take", 0)) for line, review in (source.get("review") or {}).items()}
    for entry in manifest.get("lines", []):
        takes[entry["line_id"]] = max(takes.get(entry["line_id"], 0), int(entry.get("take", 0)))
    quarantined = source.get("quarantined") or {}
    unknown = sorted(set(asks) - {entry["line_id"] for entry in manifest.get("lines", [])} - set(quarantined))
    if unknown:
        raise ReviewError(f"{manifest.get('script_id')} v{manifest.get('version')} has no line(s) {', '.join(unknown)}")
    too_long = [line for line, ask in asks.items() if len(ask.get("note") or "") > MAX_NOTE]
    if too_long:
        raise ReviewError(f"note for {too_long[0]} is longer than {MAX_NOTE} characters")
    asked = {"reviewer": reviewer, "from_version": manifest.get("version")}
    retake = {}
    for line, ask in sorted(asks.items()):
        entry = {"take": takes.get(line, 0) + 1, "note": (ask.get("note") or "").strip(), **asked}
        retake[line] = entry | ({"change": dict(ask["change"])} if ask.get("change") else {})
    conf: dict[str, Any] = {"project": manifest["project"], "script_key": script_key, "retake": retake}
    if profile := (manifest.get("source") or {}).get("profile"):
        conf["profile"] = profile
    return conf


def _version_lines(store: ObjectStore, prefix_key: str, version: int | None, other: int) -> dict[str, Any]:
    """The published lines of another version of the same script (``…/v{version}/`` → ``…/v{other}/``)."""
    base = prefix_key.rstrip("/").rsplit("/", 1)[0]  # project/script_id
    try:
        manifest = json.loads(store.get_bytes("assets", f"{base}/v{other}/manifest.json"))
    except (StorageError, ValueError):
        return {}
    return {entry["line_id"]: entry for entry in manifest.get("lines", [])}


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


def retake_limits(engine: str, capabilities: Any) -> str:
    """What a retake of a line spoken by ``engine`` cannot change, said before the reviewer asks for it."""
    if capabilities is None:
        return ""
    notes = []
    if not capabilities.takes_vary:
        notes.append(f"{engine} has no randomness: another take is the same audio (change the style, speed, voice or "
                     "what is said instead)")  # fmt: skip
    if not capabilities.instruct:
        notes.append(f"{engine} follows a style's speed, pitch and energy cues (slower, excited…), not free wording")
    return "; ".join(notes)


def _check(check: dict[str, Any]) -> CheckView:
    known = {k: check[k] for k in ("name", "verdict", "value", "unit", "threshold", "detail") if k in check}
    measured = Check(**known)
    return CheckView(measured.name, measured.verdict, measured.measured(), measured.threshold, measured.detail)


def text_chips(text: str) -> list[tuple[str, str]]:
    """The line as written, with its markup as chips a reviewer can read: (kind, label) pairs, kind ``text`` for
    plain words and ``pinyin``/``phonemes``/``pause``/``sound``/``span`` for markup; unparsable text stays text."""
    from pipeline.text.markup import Break, Event, MarkupError, Phonemes, Pinyin, Span, Text, parse

    try:
        segments = list(parse(text))
    except MarkupError:
        return [("text", text)]

    def walk(items: Any) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for item in items:
            if isinstance(item, Text):
                out.append(("text", item.text))
            elif isinstance(item, Pinyin):
                out.append(("pinyin", " ".join(item.syllables)))
            elif isinstance(item, Phonemes):
                out.append(("phonemes", " ".join(item.phones)))
            elif isinstance(item, Break):
                out.append(("pause", f"pause {item.seconds:g} s"))
            elif isinstance(item, Event):
                out.append(("sound", item.name))
            elif isinstance(item, Span):
                out += [("span", f"{item.kind or 'span'} ▸"), *walk(item.children), ("span", "◂")]
        return out

    return walk(segments)
