"""Publishing a script version: claim it, objects next, ``manifest.json`` last, never rewritten.

A consumer that sees a manifest sees a complete version, because the manifest is the last object written and a
single PUT is atomic. Re-running a publish (after a crash, a retry, a backfill) uploads only what is missing; the
same content again is a no-op; different content becomes a new version, never a rewrite of a published one.

Any number of publishers may run at once, on any number of machines. Before it writes any asset, a publisher
claims the version number with a create-only PUT (``If-None-Match: *``) of ``.claim.json``, which names the
content it will write. A version claimed for other content is never touched: the publisher claims the next number.
A version claimed for the same content (a twin run, or a crashed run being resumed) is completed, with identical
bytes. The manifest is written create-only as well, so it can never be replaced. The server must honour
conditional writes (MinIO, AWS S3 and the embedded SeaweedFS do); publishing refuses one that does not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.digest import sha256_file
from pipeline.ids import check_id
from pipeline.storage import keys
from pipeline.storage.asset_catalog import write_catalog_part
from pipeline.storage.errors import StorageError, VersionConflictError
from pipeline.storage.store import BINARY, SHA256_META, ObjectStore

log = logging.getLogger(__name__)

MANIFEST_SCHEMA = "dubflow.manifest/1"
CLAIM_SCHEMA = "dubflow.claim/1"
CLAIM_ATTEMPTS = 8  # ~6 s of reading a claim that another publisher is still writing
CONTENT_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class DeliveryLine:
    """One spoken line's delivery file and what downstream needs to know about it."""

    line_id: str
    lang: str
    path: Path
    duration: float | None = None
    sample_rate: int | None = None
    voice: str | None = None
    engine: str | None = None
    text: str | None = None
    start: float | None = None
    end: float | None = None
    loudness_lufs: float | None = None
    qa_verdict: str = "not-checked"  # pass | warn | fail | not-checked (until the QA stage runs)
    take: int = 0  # a reviewer's retake number (source.review says why); 0 = the original take
    speaker: str | None = None  # as the script names them
    style: str | None = None  # the style instruction it was spoken with
    cue_start: float | None = None  # the line's slot in the programme, as the script times it (start/end above:
    cue_end: float | None = None  # where the clip was placed, which time-fit may move)

    @property
    def ext(self) -> str:
        return self.path.suffix.lstrip(".").lower()


@dataclass(frozen=True)
class DeliveryFile:
    """Any other file of the version: a stem, regenerated subtitles, the QA report (``qa/report.html``)."""

    name: str
    path: Path


@dataclass
class Delivery:
    project: str
    script_id: str
    lines: Sequence[DeliveryLine]
    run_id: str
    extras: Sequence[DeliveryFile] = ()
    source: dict[str, Any] = field(default_factory=dict)  # the script file's name, sha256, format
    version: int | None = None  # None = the next version, or the one already holding this content


@dataclass
class PublishResult:
    project: str
    script_id: str
    version: int
    manifest_key: str
    catalog_key: str
    uploaded: int = 0
    copied: int = 0  # unchanged since the previous version: copied server-side, no bytes sent
    skipped: int = 0
    bytes_uploaded: int = 0
    already_published: bool = False  # the same content was published before: nothing written but the catalog

    def describe(self) -> str:
        what = "already published" if self.already_published else "published"
        return (
            f"{self.project}/{self.script_id} v{self.version} {what}: {self.uploaded} uploaded "
            f"({self.bytes_uploaded / 1e6:.1f} MB), {self.copied} copied from the previous version, "
            f"{self.skipped} already there"
        )


@dataclass(frozen=True)
class _Planned:
    name: str  # path relative to the version prefix
    path: Path
    sha256: str
    size: int
    content_type: str
    line: DeliveryLine | None


Progress = Callable[[str, bool], None]  # (key, uploaded?) after each object
Manifest = dict[str, Any]
Entry = dict[str, Any]  # a file's record in the manifest
_Choice = tuple[int, Manifest | None, Manifest | None]


def publish(store: ObjectStore, delivery: Delivery, progress: Progress | None = None) -> PublishResult:
    """Publish ``delivery`` as an immutable version of its script (see the module docstring for the protocol)."""
    files = _plan(delivery)
    script = delivery.project, delivery.script_id
    if not store.supports_conditional_writes():
        raise StorageError(
            f"{store.connection.url} does not honour conditional writes (If-None-Match): two publishers could mix "
            "their versions there, so dubflow does not publish to it (MinIO, AWS S3 and SeaweedFS do)"
        )
    lines_meta, extras_meta = _content(files)
    digest = _digest(lines_meta, extras_meta)
    version, existing, previous = _choose_version(store, delivery, digest)
    while existing is None and not _claim(store, delivery, version, digest):
        if delivery.version is not None:
            raise VersionConflictError(
                f"{delivery.project}/{delivery.script_id} v{version} was claimed by another run for other content; "
                "publish without a version to create the next one."
            )
        version, existing, previous = _choose_version(store, delivery, digest, after=version)
    result = PublishResult(*script, version, keys.manifest_key(*script, version), "")
    if existing is not None:
        result.catalog_key = write_catalog_part(store, existing)  # a crash after the manifest may have skipped it
        result.skipped, result.already_published = len(files), True
        return result

    prefix = keys.version_prefix(*script, version)
    tags = {"project": delivery.project, "script": delivery.script_id, "version": str(version)}
    reusable = {e["sha256"]: e["key"] for e in (previous or {}).get("lines", []) + (previous or {}).get("files", [])}
    for item in files:
        key = prefix + item.name
        meta = {"run-id": delivery.run_id, SHA256_META: item.sha256}
        if item.line is not None:
            meta["line-id"] = item.line.line_id
        there = store.stat("assets", key)
        if there is not None and there.sha256 == item.sha256:
            result.skipped += 1
        elif there is not None:  # impossible under the claim; never overwrite, whatever happened
            raise _busy(store, key, version, delivery)
        elif item.sha256 in reusable:
            store.copy("assets", reusable[item.sha256], key, meta, item.content_type, tags)
            result.copied += 1
        else:
            store.put_file("assets", key, item.path, item.content_type, meta, tags, sha256=item.sha256)
            result.uploaded += 1
            result.bytes_uploaded += item.size
        if progress is not None:
            progress(key, there is None)

    strangers = _unplanned(store, prefix, {item.name for item in files})
    if strangers:
        raise _busy(store, prefix + strangers[0], version, delivery)
    manifest = _manifest(delivery, version, digest, lines_meta, extras_meta)
    body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    if not store.put_json_if("assets", result.manifest_key, body, metadata={"run-id": delivery.run_id}, tags=tags):
        raced = _read_raced_manifest(store, delivery, version)
        if raced is None or raced["content_sha256"] != digest:  # the claim makes this impossible: say so loudly
            raise VersionConflictError(
                f"s3://{store.bucket('assets')}/{result.manifest_key} was written by another run "
                "with other content although this run had claimed the version"
            )
        if raced.get("run_id") != delivery.run_id:  # a twin run finished first (else: our own retried PUT)
            result.already_published = True
        manifest = raced
    result.catalog_key = write_catalog_part(store, manifest)
    log.info("%s", result.describe())
    return result


def _claim(store: ObjectStore, delivery: Delivery, version: int, digest: str) -> bool:
    """Claim ``version`` for this content, create-only. True when it is ours to write: claimed now, or already
    claimed for the same content (a twin run, or a crashed one this run resumes); False when claimed for other
    content. A server may refuse the create while the other claim is still being written and not yet readable:
    then the claim is read again, and tried again, for a moment."""
    key = keys.claim_key(delivery.project, delivery.script_id, version)
    claim = {"schema": CLAIM_SCHEMA, "content_sha256": digest, "run_id": delivery.run_id, "claimed_at": _now()}
    for attempt in range(CLAIM_ATTEMPTS):
        if store.put_json_if("assets", key, json.dumps(claim).encode()):
            return True
        if (content := _claimed_content(store, delivery.project, delivery.script_id, version)) is not None:
            return content == digest
        time.sleep(0.05 * 2**attempt)
    raise StorageError(f"s3://{store.bucket('assets')}/{key} exists but cannot be read; try again")


def _read_raced_manifest(store: ObjectStore, delivery: Delivery, version: int) -> Manifest | None:
    """The manifest a create-only PUT was refused for, read as soon as the server lets it be read."""
    for attempt in range(CLAIM_ATTEMPTS):
        if (manifest := read_manifest(store, delivery.project, delivery.script_id, version)) is not None:
            return manifest
        time.sleep(0.05 * 2**attempt)
    return None


def _claimed_content(store: ObjectStore, project: str, script_id: str, version: int) -> str | None:
    """The content a version was claimed for; None for a version without a claim (or an unreadable one)."""
    key = keys.claim_key(project, script_id, version)
    if not store.exists("assets", key):
        return None
    try:
        return json.loads(store.get_bytes("assets", key)).get("content_sha256")
    except (ValueError, AttributeError):
        return None


def read_manifest(store: ObjectStore, project: str, script_id: str, version: int) -> Manifest | None:
    key = keys.manifest_key(project, script_id, version)
    if not store.exists("assets", key):
        return None
    manifest = json.loads(store.get_bytes("assets", key))
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise StorageError(f"{key}: unknown manifest schema {manifest.get('schema')!r}")
    return manifest


def list_versions(store: ObjectStore, project: str, script_id: str) -> list[int]:
    """Version numbers that have any object (published or not), ascending."""
    prefix = keys.script_prefix(project, script_id)
    found = (keys.parse_version_dir(o.key.removeprefix(prefix)) for o in store.list("assets", prefix, recursive=False))
    return sorted(v for v in found if v is not None)


# -- internals -------------------------------------------------------------------------------------------------


def _plan(delivery: Delivery) -> list[_Planned]:
    """Check every id and name, hash every file: a bad input fails before anything is uploaded."""
    keys.project_id(delivery.project)
    check_id(delivery.script_id, "script id")
    if not delivery.lines:
        raise StorageError(f"{delivery.project}/{delivery.script_id}: nothing to publish (no lines)")
    script = delivery.project, delivery.script_id, 1
    root = keys.version_prefix(*script)
    planned = [_file(keys.asset_key(*script, x.lang, x.line_id, x.ext).removeprefix(root), x) for x in delivery.lines]
    planned += [_file(keys.extra_key(*script, x.name).removeprefix(root), x) for x in delivery.extras]
    seen: dict[str, str] = {}
    for item in planned:
        if item.name in seen:
            raise StorageError(f"two delivery files map to key '{item.name}': {seen[item.name]} and {item.path}")
        seen[item.name] = str(item.path)
    return planned


def _file(name: str, source: DeliveryLine | DeliveryFile) -> _Planned:
    path, line = source.path, source if isinstance(source, DeliveryLine) else None
    if not path.is_file():
        raise StorageError(f"delivery file {path} does not exist")
    content_type = CONTENT_TYPES.get(name.rsplit(".", 1)[-1], BINARY)
    return _Planned(name, path, sha256_file(path), path.stat().st_size, content_type, line)


def _content(files: list[_Planned]) -> tuple[list[Entry], list[Entry]]:
    lines, extras = [], []
    for item in files:
        entry = {"name": item.name, "sha256": item.sha256, "bytes": item.size, "content_type": item.content_type}
        if item.line is None:
            extras.append(entry)
            continue
        record = asdict(item.line)
        record.pop("path")
        lines.append({**record, **entry})
    return lines, extras


def _digest(lines: list[Entry], extras: list[Entry]) -> str:
    """What makes two publishes "the same content": every file's bytes and every line's metadata. ``take`` 0 is
    left out, so content published before takes existed keeps its digest (a re-run stays "already published")."""
    lines = [{k: v for k, v in line.items() if k != "take" or v} for line in lines]
    canonical = json.dumps({"lines": lines, "extras": extras}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _busy(store: ObjectStore, key: str, version: int, delivery: Delivery) -> VersionConflictError:
    return VersionConflictError(
        f"s3://{store.bucket('assets')}/{key} holds content this run did not plan: another run is publishing "
        f"v{version} of {delivery.project}/{delivery.script_id} now. Nothing was overwritten; re-run to publish "
        "as the next version."
    )


def _unplanned(store: ObjectStore, prefix: str, planned: set[str]) -> list[str]:
    """Names under an unpublished version's prefix that this delivery would not write."""
    names = (obj.key.removeprefix(prefix) for obj in store.list("assets", prefix))
    return sorted(name for name in names if name not in planned and name not in (keys.MANIFEST_NAME, keys.CLAIM_NAME))


def _choose_version(store: ObjectStore, delivery: Delivery, digest: str, after: int = 0) -> _Choice:
    """(version to claim, its manifest if this exact content is published there, the latest earlier manifest).

    The newest published version decides: the same content published there is "already published"; an unfinished
    version after it that is claimed for this content is joined (a twin run) or completed (a crashed one); anything
    else gets the next number. An unfinished version older than the newest published one is abandoned, never
    completed, so versions appear in the order they were claimed. ``after``: a number just lost to another
    publisher."""
    project, script_id = delivery.project, delivery.script_id
    if delivery.version is not None:
        keys.version_id(delivery.version)
        manifest = read_manifest(store, project, script_id, delivery.version)
        if manifest is None:
            earlier = [v for v in list_versions(store, project, script_id) if v < delivery.version]
            return delivery.version, None, _latest(store, project, script_id, earlier)[1]
        if manifest["content_sha256"] == digest:
            return delivery.version, manifest, None
        raise VersionConflictError(
            f"{project}/{script_id} v{delivery.version} is already published with different content "
            f"(run {manifest.get('run_id')}); a published version is never rewritten. "
            "Publish without a version to create the next one."
        )
    # The listing is a hint (listings may lag behind writes); the walk from the newest published version up to the
    # first number nobody has claimed reads every version itself.
    listed = list_versions(store, project, script_id)
    published_at, previous = _latest(store, project, script_id, listed)
    joinable: int | None = None
    version = max(published_at, 1)
    while True:
        manifest = previous if version == published_at else read_manifest(store, project, script_id, version)
        if manifest is not None:
            published_at, previous, joinable = version, manifest, None  # unfinished ones below it are abandoned
        else:
            claimed = _claimed_content(store, project, script_id, version)
            if claimed is None and version not in listed and version > after:
                break
            if claimed == digest and joinable is None and version != after:
                joinable = version
        version += 1
    if previous is not None and previous["content_sha256"] == digest:
        return published_at, previous, None
    if joinable is not None:
        return joinable, None, previous
    return version, None, previous


def _latest(store: ObjectStore, project: str, script_id: str, versions: list[int]) -> tuple[int, Manifest | None]:
    """The newest of ``versions`` that is published and its manifest; (0, None) when none is."""
    for version in reversed(versions):
        if (manifest := read_manifest(store, project, script_id, version)) is not None:
            return version, manifest
    return 0, None


def _manifest(delivery: Delivery, version: int, digest: str, lines: list[Entry], extras: list[Entry]) -> Manifest:
    prefix = keys.version_prefix(delivery.project, delivery.script_id, version)
    durations = [entry["duration"] for entry in lines if entry["duration"] is not None]
    verdicts = dict(Counter(entry["qa_verdict"] for entry in lines))
    return {
        "schema": MANIFEST_SCHEMA,
        "project": delivery.project,
        "script_id": delivery.script_id,
        "version": version,
        "run_id": delivery.run_id,
        "published_at": _now(),
        "code_version": {"dubflow": __version__},
        "content_sha256": digest,
        "source": delivery.source,
        "languages": sorted({entry["lang"] for entry in lines}),
        "totals": {"lines": len(lines), "seconds": round(sum(durations), 3), "qa": verdicts},
        "lines": [{"key": prefix + entry["name"], **entry} for entry in lines],
        "files": [{"key": prefix + entry["name"], **entry} for entry in extras],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
