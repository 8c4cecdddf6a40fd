"""From checked clips to a delivery: encode per profile, assemble stems/chapters and subtitles, script-level QA,
the QA report, and the publish of everything that passed (quarantined lines are listed, never published as good).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import __version__
from pipeline.audio.assemble import Placed, dialogue_stem, narration, subtitles
from pipeline.audio.encode import decode_wav, encode
from pipeline.audio.profiles import Profile
from pipeline.ids import slugify
from pipeline.qa.delivery_checks import file_checks, stem_checks
from pipeline.qa.report import Audio, Media, report_html, report_json, report_parquet, stored_media
from pipeline.qa.results import LineQa, ScriptQa
from pipeline.scripts.model import Line
from pipeline.scripts.table import SCHEMA
from pipeline.storage import keys
from pipeline.storage.asset_catalog import write_catalog_part
from pipeline.storage.publish import (
    Delivery,
    DeliveryFile,
    DeliveryLine,
    PublishResult,
    list_versions,
    publish,
    read_manifest,
)
from pipeline.storage.store import ObjectStore


@dataclass
class Package:
    qa: ScriptQa
    lines: list[DeliveryLine]
    extras: list[DeliveryFile] = field(default_factory=list)


def package(
    lines: list[Line], qa: ScriptQa, profile: Profile, store: ObjectStore, folder: Path, takes: Mapping[str, int]
) -> Package:
    """Write the delivery files of one script (``qa``: its checked lines) into ``folder`` and return what to publish
    (``takes``: line id → reviewer retake number, recorded per line in the manifest)."""
    audio: Audio = {}

    def deliver(result: LineQa) -> DeliveryLine | None:
        samples, rate = decode_wav(store.get_bytes("staging", result.key or ""))
        audio[result.line_id] = (samples, rate)
        if result.quarantined:
            return None
        line = result.line
        assert line is not None, f"{result.line_id}: a checked line carries its line"
        path = folder / line.lang / f"{line.line_id}.{profile.encoding.format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_encode(samples, rate, profile))
        start, duration = result.start_s, result.duration_s
        end = None if start is None else start + (duration or 0)
        spoken = {"voice": result.voice, "engine": result.engine, "text": line.text, "start": start, "end": end}
        checked = {"loudness_lufs": result.loudness, "qa_verdict": result.verdict, "take": takes.get(line.line_id, 0)}
        cue = {"speaker": line.speaker, "style": line.style, "cue_start": line.start, "cue_end": line.end}
        return DeliveryLine(line.line_id, line.lang, path, duration, rate, **spoken, **checked, **cue)

    with ThreadPoolExecutor(max_workers=4) as pool:  # fetches overlap; decoding and encoding release the GIL
        delivered = [d for d in pool.map(deliver, [r for r in qa.lines if r.key]) if d is not None]
    extras = _assemble(lines, qa, audio, profile, folder)
    programme = [f.name for f in extras if f.name.startswith(("stems/", "chapters/"))]
    html = report_html(qa, media=_media(store, qa.lines, audio), programme=programme).encode()
    reports = {"qa/report.html": html, "qa/report.json": report_json(qa), "qa/report.parquet": report_parquet(qa)}
    extras += [_write(folder, name, data) for name, data in reports.items()]
    return Package(qa, delivered, extras)


def inputs_digest(lines: list[Line], results: list[LineQa], profile: Profile, takes: Mapping[str, int]) -> str:
    """Everything a package is made of: the code, the profile, the script's lines as written and timed, each
    checked line (its processed clip is content-addressed) and each take. The same digest makes the same files."""
    rows = [[getattr(line, name) for name in SCHEMA.names] for line in lines]
    material = [
        __version__,
        profile.model_dump(mode="json"),
        rows,
        [q.to_dict() for q in results],
        sorted(takes.items()),
    ]
    return hashlib.sha256(json.dumps(material, default=str, sort_keys=True).encode()).hexdigest()


def published_inputs(store: ObjectStore, project: str, script_id: str, inputs: str) -> PublishResult | None:
    """The latest published version, when it was made from ``inputs`` (no need to package it again)."""
    versions = list_versions(store, project, script_id)
    manifest = read_manifest(store, project, script_id, versions[-1]) if versions else None
    if manifest is None or manifest.get("source", {}).get("inputs") != inputs:
        return None
    version, files = versions[-1], len(manifest["lines"]) + len(manifest["files"])
    manifest_key, catalog_key = keys.manifest_key(project, script_id, version), write_catalog_part(store, manifest)
    return PublishResult(project, script_id, version, manifest_key, catalog_key, skipped=files, already_published=True)


def publish_package(store: ObjectStore, pkg: Package, run_id: str, source: dict[str, Any]) -> PublishResult | None:
    """Publish the passed and warned lines with the stems, subtitles and reports; None when nothing passed."""
    if not pkg.lines:
        return None
    qa = pkg.qa
    quarantined = {q.line_id: q.reasons for q in qa.lines if q.quarantined}
    recorded = {**source, "profile": qa.profile, "qa": qa.counts(), "quarantined": quarantined}
    return publish(store, Delivery(qa.project, qa.script_id, pkg.lines, run_id, pkg.extras, source=recorded))


def _media(store: ObjectStore, results: list[LineQa], audio: Audio) -> dict[str, Media]:
    """Each line's report plot and player: made by the worker that checked it, made here for lines it missed."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        usable = [r for r in results if r.key and r.line_id in audio]
        made = pool.map(lambda r: stored_media(store, r.key or "", lambda: audio[r.line_id]), usable)
        return dict(zip([r.line_id for r in usable], made, strict=True))


def _encode(samples: np.ndarray, rate: int, profile: Profile) -> bytes:
    """Mono as measured; dual-mono at -3.01 dB, since BS.1770 sums channels and would read it 3 LU louder."""
    if profile.channels != 1:
        samples = np.stack([samples * 10 ** (-3.0103 / 20)] * profile.channels, axis=1)
    return encode(samples, rate, profile.encoding)


def _assemble(lines: list[Line], qa: ScriptQa, audio: Audio, profile: Profile, folder: Path) -> list[DeliveryFile]:
    """Dubbing (timed lines): a dialogue stem and subtitles per language. Narration: one file per chapter."""
    rate = profile.sample_rate
    usable = {r.line_id: r for r in qa.lines if not r.quarantined and r.line_id in audio}
    extras: list[DeliveryFile] = []
    for lang in sorted({line.lang for line in lines}):
        ours = [line for line in lines if line.lang == lang and line.line_id in usable]
        if not ours:
            continue
        if all(line.start is not None for line in ours):
            starts = {line.line_id: usable[line.line_id].start_s or line.start or 0.0 for line in ours}
            placed = [Placed(line.line_id, line.text, starts[line.line_id], audio[line.line_id][0]) for line in ours]
            stem = dialogue_stem(placed, rate)
            extras.append(_write(folder, f"stems/{lang}.{profile.encoding.format}", _encode(stem, rate, profile)))
            for fmt in ("srt", "vtt"):
                extras.append(_write(folder, f"subtitles/{lang}.{fmt}", subtitles(placed, rate, fmt).encode()))
            qa.script_checks.extend(stem_checks(lang, stem, placed, lines, rate, profile))
        else:
            chapters: dict[str, list[Line]] = {}
            for line in ours:
                chapters.setdefault(line.chapter or "chapter", []).append(line)
            for n, (title, members) in enumerate(chapters.items(), start=1):
                chapter = narration([(audio[m.line_id][0], m.pause_after) for m in members], rate, profile.room_tone)
                name = f"chapters/{lang}/{n:02d}-{slugify(title, 'chapter')[:40]}.{profile.encoding.format}"
                qa.script_checks.extend(file_checks(name, chapter, rate, profile))
                extras.append(_write(folder, name, _encode(chapter, rate, profile)))
    return extras


def _write(folder: Path, name: str, data: bytes) -> DeliveryFile:
    keys.extra_key("x", "x", 1, name)  # the one rule for delivery names (raises on any other)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return DeliveryFile(name, path)
