"""The voicing chain, composed once: a script's bytes → ingest → synthesize (Dask) → finish (post-process + QA on the
workers) → package → publish.

The Airflow task (``pipeline.orchestrate``), ``dubflow voice`` and the benchmarks all call ``voice``; nothing else
wires stages together. Each stage keeps its own module; this one only decides their order, what a refused script
is, and what one run reports.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from pipeline.audio.profiles import Profile, resolve_profile
from pipeline.compute.fanout import LineResult, RunReport, Stage, synthesize
from pipeline.compute.finish import finish
from pipeline.deliver import Package, inputs_digest, package, publish_package, published_inputs
from pipeline.events import RunTag, script_event
from pipeline.ids import MAX_TAKE
from pipeline.lexicon.lines import with_lexicon
from pipeline.lexicon.load import LexiconError, project_lexicon
from pipeline.qa.results import LineQa, ScriptQa
from pipeline.review import ReviewError, check_change
from pipeline.scripts.ingest import ingest_bytes, speech_of
from pipeline.scripts.model import IngestResult, Line
from pipeline.settings import Settings
from pipeline.storage.locks import Holder, script_lock
from pipeline.storage.publish import PublishResult, list_versions, read_manifest
from pipeline.storage.store import ObjectStore
from pipeline.text.markup import parse
from pipeline.text.style import EXPLICIT_SPEED, parse_style
from pipeline.voices.catalog import Catalog

log = logging.getLogger(__name__)


class InputError(ValueError):
    """The request or the script itself is wrong (a malformed script, an unknown line, voice or engine): running
    it again cannot help, so an orchestrator should fail at once instead of retrying."""


class Watcher:
    """What a caller sees of a run while it happens (a progress bar, a log); every method may be left as is."""

    def ingested(self, ingested: IngestResult) -> None:
        """The script was read; synthesis follows when it has no errors."""

    def stage(self, name: str) -> None:
        """``synthesize``, ``finish``, ``package`` or ``publish`` begins."""

    def synthesized(self, result: LineResult) -> None:
        """One line was synthesized, found in the cache, or failed."""

    def checked(self, line_qa: LineQa) -> None:
        """One line was post-processed and QA-checked (or quarantined)."""

    def waiting(self, holder: Holder) -> None:
        """Another run is voicing this script: this one waits for it (``synthesis.script_lock_wait``)."""


@dataclass(frozen=True)
class Script:
    """One script to voice: its bytes and where they came from (recorded in the manifest's ``source``)."""

    name: str
    data: bytes
    project: str
    source: Mapping[str, Any] = field(default_factory=dict)  # inbox_key, sha256 … as the manifest records them


@dataclass(frozen=True)
class Options:
    run_id: str
    profile: str | None = None  # a delivery profile name; None = settings.audio.profile
    force: bool = False  # synthesize and check every line again, ignoring the caches
    publish: bool = True  # False: stop after packaging (the delivery files stay in ``delivery_dir``)
    dry_run: bool = False  # ingest and check the request only
    retake: Mapping[str, Mapping[str, Any]] | None = None  # line id → {take, note, reviewer, from_version}
    voices: Mapping[str, str] | None = None  # speaker → voice id, over the project's map
    engine: str | None = None  # speak every line with this engine
    delivery_dir: Path | None = None  # keep the delivery files in <delivery_dir>/<script_id>/; None = temporary


@dataclass
class Outcome:
    """What one run of the chain did to one script, stage by stage (later fields stay None when it stopped)."""

    script: Script
    ingested: IngestResult
    status: str = "refused"  # refused | validated (dry run) | nothing passed QA | packaged | published
    profile: Profile | None = None
    report: RunReport | None = None
    checked: list[LineQa] | None = None
    package: Package | None = None
    published: PublishResult | None = None
    retakes: list[str] = field(default_factory=list)  # lines this run was asked to retake
    takes: dict[str, int] = field(default_factory=dict)  # every line's take, carried ones included
    review: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every line spoken, and the script published (or packaged, when publishing was not asked for)."""
        return self.status in ("published", "packaged", "validated (dry run)") and not (
            self.report and self.report.failed
        )

    def summary(self, store: ObjectStore) -> dict[str, Any]:
        """The run as JSON (ids, counts and URIs): the Airflow task's return value."""
        out: dict[str, Any] = {
            "project": self.script.project,
            "script_key": self.script.source.get("inbox_key"),
            "script_id": self.ingested.script_id,
            "lines": len(self.ingested.lines),
            "problems": [str(p) for p in self.ingested.problems],
            "retakes": self.retakes,
            "status": self.status,
        }
        if self.report is None or self.package is None:
            return out
        published = self.published
        out.update(
            takes=dict(sorted(self.takes.items())),
            synthesis=self.report.summary(),
            failed=[r.line.line_id for r in self.report.failed],
            qa=self.package.qa.counts(),
            version=published.version if published else None,
            manifest=f"s3://{store.bucket('assets')}/{published.manifest_key}" if published else None,
            uploaded=published.uploaded if published else 0,
            already_published=bool(published and published.already_published),
        )
        return out


def voice(
    settings: Settings,
    script: Script,
    options: Options,
    *,
    store: ObjectStore,
    catalog: Catalog,
    client: Any,
    watcher: Watcher | None = None,
) -> Outcome:
    """Voice one script. Raises ``InputError`` for a request that cannot be right (unknown voice, engine or line);
    a script with errors comes back ``refused`` with its problems, having touched nothing.

    Safe to repeat after a kill at any point: synthesis and QA results are cached by content, and publishing
    completes the same version without uploading anything twice. One run per script at a time (a lock in
    staging); takes stick: a run without a retake voices every line at the take of the latest published version.
    """
    watch = watcher or Watcher()
    project, tag = script.project, RunTag(options.run_id, script.project)
    overrides = check_overrides(catalog, options.voices or {}, options.engine, settings)
    voice_map = {**catalog.voice_map(project), **overrides.get("voices", {})}
    ingested = ingest_bytes(script.data, script.name, settings.ingest, voice_map=voice_map)
    if ingested.ok:  # the project's pronunciations, from its lexicon files in the inbox (none: no change)
        try:
            lexicon = project_lexicon(store, project)
        except LexiconError as exc:
            raise InputError(f"the lexicon of project {project!r} has errors: {exc}") from exc
        ingested = replace(ingested, lines=tuple(with_lexicon(ingested.lines, lexicon, settings.ingest.normalize)))
    outcome = Outcome(script, ingested, overrides=overrides)
    lines, script_id, inbox_key = ingested.lines, ingested.script_id, script.source.get("inbox_key")
    script_event(log, "script ingested", tag, script_id, script_key=inbox_key, lines=len(lines), ok=ingested.ok)
    watch.ingested(ingested)
    if not ingested.ok:
        return outcome
    line_ids = {line.line_id for line in lines}
    outcome.review = check_retake(options.retake or {}, line_ids, inbox_key or script.name)
    check_changes(outcome.review, lines, catalog)
    for line in lines:  # words to say instead hold for the script's text the reviewer heard, not a corrected one
        if "say" in (change := outcome.review.get(line.line_id, {}).get("change") or {}):
            change["for_text"] = line.text
    outcome.retakes = sorted(outcome.review)
    if options.dry_run:
        outcome.status = "validated (dry run)"
        return outcome
    audio, wait = settings.audio, settings.synthesis.script_lock_wait
    profile = outcome.profile = resolve_profile(audio.profiles_file, options.profile or audio.profile, audio.overrides)
    with script_lock(store, project, script_id, options.run_id, wait=wait, on_wait=watch.waiting):
        carried, carried_review = published_takes(store, project, script_id, line_ids)
        outcome.takes = {**carried, **{line_id: entry["take"] for line_id, entry in outcome.review.items()}}
        merge_changes(carried_review, outcome.review)
        outcome.review = {**carried_review, **outcome.review}
        lines = tuple(apply_changes(lines, outcome.review, catalog, settings.ingest.normalize))
        watch.stage("synthesize")
        watched = {"client": client, "progress": watch.synthesized}
        asked = {"force": options.force, "takes": outcome.takes, "engine": options.engine, "run_id": options.run_id}
        outcome.report = synthesize(lines, catalog, project, settings, store, **watched, **asked)
        watch.stage("finish")
        outcome.checked = finish(outcome.report, Stage(settings, store, client), profile, options.force, watch.checked)
        kept = options.delivery_dir / script_id if options.delivery_dir else None
        inputs = inputs_digest(lines, outcome.checked, profile, outcome.takes)
        qa = ScriptQa(project, script_id, profile.name, outcome.checked)
        if options.publish and kept is None and (prior := published_inputs(store, project, script_id, inputs)):
            # Everything the package is made of is what the latest version was made of: it is that version.
            outcome.package, outcome.published, outcome.status = Package(qa, []), prior, "published"
            return _voiced(outcome, tag)
        if kept is not None:
            kept.mkdir(parents=True, exist_ok=True)
        with nullcontext(str(kept)) if kept else TemporaryDirectory(prefix="dubflow-package-") as name:
            watch.stage("package")
            outcome.package = package(lines, qa, profile, store, Path(name), outcome.takes)
            if not options.publish:
                outcome.status = "packaged"
            else:
                watch.stage("publish")
                review = dict(sorted(outcome.review.items()))
                source = {"name": script.name, **script.source, "review": review, "inputs": inputs}
                if overrides:
                    source["overrides"] = overrides
                outcome.published = publish_package(store, outcome.package, options.run_id, source)
                outcome.status = "published" if outcome.published else "nothing passed QA"
    return _voiced(outcome, tag)


def _voiced(outcome: Outcome, tag: RunTag) -> Outcome:
    assert outcome.report is not None and outcome.package is not None
    ingested, failed = outcome.ingested, [r.line.line_id for r in outcome.report.failed] or None
    qa = " ".join(f"{k}:{v}" for k, v in outcome.package.qa.counts().items())
    done = {"status": outcome.status, "version": outcome.published.version if outcome.published else None}
    script_event(log, "script voiced", tag, ingested.script_id, **done, lines=len(ingested.lines), failed=failed, qa=qa)
    return outcome


def check_overrides(
    catalog: Catalog, voices: Mapping[str, str], engine: str | None, settings: Settings
) -> dict[str, Any]:
    """The trigger form's voice and engine overrides, checked against the catalog and the enabled engines before
    anything runs (a typo must not silently fall back to the default voice)."""
    unknown = sorted({voice for voice in voices.values() if voice not in catalog.voices})
    if unknown:
        known = ", ".join(sorted(catalog.voices))
        raise InputError(f"voice override(s) name voices not in {catalog.path}: {', '.join(unknown)} (known: {known})")
    if engine is not None and engine not in settings.engines.enabled:
        raise InputError(
            f"engine override {engine!r} is not enabled (engines.enabled: {', '.join(settings.engines.enabled)})"
        )
    overrides: dict[str, Any] = {}
    if voices:
        overrides["voices"] = dict(sorted(voices.items()))
    if engine:
        overrides["engine"] = engine
    return overrides


def check_retake(
    retake: Mapping[str, Mapping[str, Any]], line_ids: Collection[str], script_key: str
) -> dict[str, dict[str, Any]]:
    """The retake request as the manifest records it. Checked here too (not only by the DAG's param schema):
    other callers exist, and a bad request must fail before any synthesis."""
    unknown = sorted(set(retake) - set(line_ids))
    if unknown:
        raise InputError(f"retake names line(s) that are not in script {script_key}: {', '.join(unknown)}")
    review: dict[str, dict[str, Any]] = {}
    for line_id, entry in retake.items():
        take = entry.get("take") if isinstance(entry, Mapping) else None
        if isinstance(take, bool) or not isinstance(take, int) or not 1 <= take <= MAX_TAKE:
            raise InputError(
                f"retake of line {line_id} in {script_key}: take must be an integer 1..{MAX_TAKE}, not {take!r}"
            )
        from_version = entry.get("from_version")
        if from_version is not None and (isinstance(from_version, bool) or not isinstance(from_version, int)):
            raise InputError(f"retake of line {line_id} in {script_key}: from_version must be an integer or null")
        note, reviewer = str(entry.get("note") or ""), str(entry.get("reviewer") or "")
        review[line_id] = {"take": take, "note": note, "reviewer": reviewer, "from_version": from_version}
        try:
            change = check_change(entry.get("change"), f"retake of line {line_id} in {script_key}")
        except ReviewError as exc:
            raise InputError(str(exc)) from None
        if change:
            review[line_id]["change"] = change
    return review


def merge_changes(carried: Mapping[str, Mapping[str, Any]], asked: Mapping[str, Mapping[str, Any]]) -> None:
    """A line retaken again keeps what its earlier retakes changed, with the new change on top (another take of a
    recast line stays recast); ``asked`` is updated in place."""
    for line_id, review in asked.items():
        before = (carried.get(line_id) or {}).get("change") or {}
        if before:
            review["change"] = {**before, **(review.get("change") or {})}


def check_changes(review: Mapping[str, Mapping[str, Any]], lines: Sequence[Line], catalog: Catalog) -> None:
    """This run's changes against the catalog, before anything runs (a dry run too): the voice must exist and
    speak the line's language."""
    by_id = {line.line_id: line for line in lines}
    for line_id, entry in review.items():
        if voice_id := (entry.get("change") or {}).get("voice"):
            voice = catalog.voices.get(voice_id)
            if voice is None:
                raise InputError(f"retake of line {line_id}: voice {voice_id!r} is not in {catalog.path}")
            if not voice.speaks(by_id[line_id].lang):
                raise InputError(f"retake of line {line_id}: voice {voice_id} does not speak {by_id[line_id].lang}")


def apply_changes(
    lines: Sequence[Line], review: dict[str, dict[str, Any]], catalog: Catalog, spell_out: bool
) -> list[Line]:
    """Each line as its retakes asked, combined: another voice, a style, a speed on top of the line's style (its
    own, else its voice's default; time-fit may still squeeze it back into the slot), other words to say (kept
    only while the script's text is the one the reviewer heard: a corrected script wins). A carried change that no
    longer applies (its voice left the catalog, the text changed) is dropped with a warning, and from ``review``,
    so the manifest records only what this version was made with."""
    changed = []
    for line in lines:
        entry = review.get(line.line_id) or {}
        change = dict(entry.get("change") or {})
        voice = catalog.voices.get(change.get("voice") or "")
        if "voice" in change and (voice is None or not voice.speaks(line.lang)):
            log.warning("retake of %s: voice %s no longer applies; the line's own voice speaks it", line.line_id,
                        change.pop("voice"))  # fmt: skip
        elif voice is not None:
            line = replace(line, voice=voice.id)
        if "style" in change:
            line = replace(line, style=change["style"])
        if "speed" in change:
            own = catalog.voices.get(line.voice or "")
            base = line.style or (own.default_style if own else None) or ""
            factor = parse_style(base).speed * change["speed"]
            unspeeded = EXPLICIT_SPEED.sub("", base).strip(" ,，")
            line = replace(line, style=", ".join(filter(None, [unspeeded, f"speed={factor:.3g}"])))
        if "say" in change:
            if change.get("for_text", line.text) != line.text:
                log.warning("retake of %s: the script's text changed; its words to say are dropped", line.line_id)
                change.pop("say")
                change.pop("for_text", None)
            else:
                speech, spoken = speech_of(parse(change["say"]), line.lang, spell_out)
                line = replace(line, utterance=speech, spoken_text=spoken, lexicon=())
        if entry:
            entry["change"] = change
            if not change:
                entry.pop("change")
        changed.append(line)
    return changed


def published_takes(
    store: ObjectStore, project: str, script_id: str, line_ids: Collection[str]
) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
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
