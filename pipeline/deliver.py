"""From checked clips to a delivery: encode per profile, assemble stems/chapters and subtitles, script-level QA,
the QA report, and the publish of everything that passed (quarantined lines are listed, never published as good).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from pipeline import __version__
from pipeline.audio.assemble import Placed, dialogue_stem, narration, subtitles
from pipeline.audio.encode import encode
from pipeline.audio.profiles import Profile
from pipeline.ids import slugify
from pipeline.qa.delivery_checks import file_checks, stem_checks
from pipeline.qa.report import Media, report_html, report_json, report_parquet, stored_media
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


def package(lines: list[Line], results: list[LineQa], profile: Profile, store: ObjectStore, folder: Path,
            project: str, script_id: str, takes: Mapping[str, int] | None = None) -> Package:  # fmt: skip
    """Write the delivery files of one script into ``folder`` and return what to publish (``takes``: line id →
    reviewer retake number, recorded per line in the manifest)."""
    takes = takes or {}
    audio: dict[str, tuple[np.ndarray, int]] = {}

    def deliver(result: LineQa) -> DeliveryLine | None:
        samples, rate = sf.read(io.BytesIO(store.get_bytes("staging", result.key or "")), dtype="float32")
        audio[result.line_id] = (samples, rate)
        if result.quarantined:
            return None
        line = result.line
        assert line is not None, f"{result.line_id}: a checked line carries its line"
        path = folder / line.lang / f"{line.line_id}.{profile.encoding.format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(_layout(samples, profile), rate, profile.encoding))
        return DeliveryLine(
            line_id=line.line_id, lang=line.lang, path=path, duration=result.duration_s, sample_rate=rate,
            voice=result.voice, engine=result.engine, text=line.text, start=result.start_s, end=None if
            result.start_s is None else result.start_s + (result.duration_s or 0), loudness_lufs=result.loudness,
            qa_verdict=result.verdict, take=takes.get(line.line_id, 0),
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:  # fetches overlap; decoding and encoding release the GIL
        delivered = [d for d in pool.map(deliver, [r for r in results if r.key]) if d is not None]
    qa = ScriptQa(project, script_id, profile.name, results)
    extras = _assemble(lines, results, audio, profile, folder, qa)
    reports = {"qa/report.html": report_html(qa, media=_media(store, results, audio)).encode(),
               "qa/report.json": report_json(qa),
               "qa/report.parquet": report_parquet(qa)}  # fmt: skip
    for name, data in reports.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        extras.append(DeliveryFile(name, path))
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
    return PublishResult(project, script_id, versions[-1], keys.manifest_key(project, script_id, versions[-1]),
                         write_catalog_part(store, manifest), skipped=len(manifest["lines"]) + len(manifest["files"]),
                         already_published=True)  # fmt: skip


def publish_package(store: ObjectStore, pkg: Package, run_id: str, source: dict[str, Any]) -> PublishResult | None:
    """Publish the passed and warned lines with the stems, subtitles and reports; None when nothing passed."""
    if not pkg.lines:
        return None
    counts = pkg.qa.counts()
    quarantined = {q.line_id: q.reasons for q in pkg.qa.lines if q.quarantined}
    return publish(store, Delivery(pkg.qa.project, pkg.qa.script_id, pkg.lines, run_id, pkg.extras,
                                   source={**source, "profile": pkg.qa.profile, "qa": counts,
                                           "quarantined": quarantined}))  # fmt: skip


def _media(store: ObjectStore, results: list[LineQa], audio: dict[str, tuple[np.ndarray, int]]) -> dict[str, Media]:
    """Each line's report plot and player: made by the worker that checked it, made here for lines it missed."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        usable = [r for r in results if r.key and r.line_id in audio]
        made = pool.map(lambda r: stored_media(store, r.key or "", lambda: audio[r.line_id]), usable)
        return dict(zip([r.line_id for r in usable], made, strict=True))


def _layout(samples: np.ndarray, profile: Profile) -> np.ndarray:
    """Mono as measured; dual-mono at -3.01 dB, since BS.1770 sums channels and would read it 3 LU louder."""
    if profile.channels == 1:
        return samples
    return np.stack([samples * 10 ** (-3.0103 / 20)] * profile.channels, axis=1)


def _assemble(lines: list[Line], results: list[LineQa], audio: dict[str, tuple[np.ndarray, int]],
              profile: Profile, folder: Path, qa: ScriptQa) -> list[DeliveryFile]:  # fmt: skip
    """Dubbing (timed lines): a dialogue stem and subtitles per language. Narration: one file per chapter."""
    rate = profile.sample_rate
    usable = {r.line_id: r for r in results if not r.quarantined and r.line_id in audio}
    extras: list[DeliveryFile] = []
    for lang in sorted({line.lang for line in lines}):
        ours = [line for line in lines if line.lang == lang and line.line_id in usable]
        if not ours:
            continue
        if all(line.start is not None for line in ours):
            placed = [Placed(line.line_id, line.text, usable[line.line_id].start_s or line.start or 0.0,
                             audio[line.line_id][0]) for line in ours]  # fmt: skip
            stem = dialogue_stem(placed, rate)
            extras.append(_write(folder, f"stems/{lang}.{profile.encoding.format}",
                                 encode(_layout(stem, profile), rate, profile.encoding)))  # fmt: skip
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
                extras.append(_write(folder, name, encode(_layout(chapter, profile), rate, profile.encoding)))
    return extras


def _write(folder: Path, name: str, data: bytes) -> DeliveryFile:
    keys.extra_key("x", "x", 1, name)  # the one rule for delivery names (raises on any other)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return DeliveryFile(name, path)
