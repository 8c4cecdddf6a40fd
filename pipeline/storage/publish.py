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
from pipeline.storage.store import SHA256_META, ObjectStore

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


def publish(store: ObjectStore, delivery: Delivery, progress: Progress | None = None) -> PublishResult:
    """Publish ``delivery`` as an immutable version of its script (see the module docstring for the protocol)."""
    files = _plan(delivery)
    if not store.supports_conditional_writes():
        raise StorageError(
            f"{store.connection.url} does not honour conditional writes (If-None-Match): two publishers could mix "
            "their versions there, so dubflow does not publish to it (MinIO, AWS S3 and SeaweedFS do)"
        )
    lines_meta, extras_meta = _content(files)
    digest = _digest(lines_meta, extras_meta)
    planned = {item.name: item.sha256 for item in files}
    version, existing, previous = _choose_version(store, delivery, digest)
    while existing is None and not _claim(store, delivery, version, digest):
        if delivery.version is not None:
            raise VersionConflictError(
                f"{delivery.project}/{delivery.script_id} v{version} was claimed by another run for other content; "
                "publish without a version to create the next one."
            )
        version, existing, previous = _choose_version(store, delivery, digest, after=version)
    manifest_key = keys.manifest_key(delivery.project, delivery.script_id, version)
    if existing is not None:
        part = write_catalog_part(store, existing)  # a crash after the manifest may have skipped it
        return PublishResult(
            delivery.project,
            delivery.script_id,
            version,
            manifest_key,
            part,
            skipped=len(files),
            already_published=True,
        )

    result = PublishResult(delivery.project, delivery.script_id, version, manifest_key, "")
    prefix = keys.version_prefix(delivery.project, delivery.script_id, version)
    tags = {"project": delivery.project, "script": delivery.script_id, "version": str(version)}
    reusable = {
        entry["sha256"]: entry["key"] for entry in (previous or {}).get("lines", []) + (previous or {}).get("files", [])
    }
    for item in files:
        key = prefix + item.name
        meta = {"run-id": delivery.run_id, SHA256_META: item.sha256}
        if item.line is not None:
            meta["line-id"] = item.line.line_id
        there = store.stat("assets", key)
        if there is not None and there.sha256 == item.sha256:
            result.skipped += 1
            uploaded = False
        elif there is not None:  # impossible under the claim; never overwrite, whatever happened
            raise _busy(store, key, version, delivery)
        elif item.sha256 in reusable:
            store.copy("assets", reusable[item.sha256], key, metadata=meta, content_type=item.content_type, tags=tags)
            result.copied += 1
            uploaded = True
        else:
            store.put_file(
                "assets", key, item.path, content_type=item.content_type, metadata=meta, tags=tags, sha256=item.sha256
            )
            result.uploaded += 1
            result.bytes_uploaded += item.size
            uploaded = True
        if progress is not None:
            progress(key, uploaded)

    strangers = _unplanned(store, prefix, planned)
    if strangers:
        raise _busy(store, prefix + strangers[0], version, delivery)
    manifest = _manifest(delivery, version, prefix, digest, lines_meta, extras_meta)
    body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    if not store.put_bytes_if_absent(
        "assets",
        manifest_key,
        body,
        content_type=CONTENT_TYPES["json"],
        metadata={"run-id": delivery.run_id},
        tags=tags,
    ):
        raced = _read_raced_manifest(store, delivery, version)
        if raced is None or raced["content_sha256"] != digest:  # the claim makes this impossible: say so loudly
            raise VersionConflictError(
                f"s3://{store.bucket('assets')}/{manifest_key} was written by another run "
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
    claim = {"schema": CLAIM_SCHEMA, "content_sha256": digest, "run_id": delivery.run_id,
             "claimed_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    for attempt in range(CLAIM_ATTEMPTS):
        if store.put_bytes_if_absent("assets", key, json.dumps(claim).encode(), content_type=CONTENT_TYPES["json"]):
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


def read_manifest(store: ObjectStore, project: str, script_id: str, version: int) -> dict[str, Any] | None:
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
    found = (
        keys.parse_version_dir(obj.key.removeprefix(prefix)) for obj in store.list("assets", prefix, recursive=False)
    )
    return sorted(v for v in found if v is not None)


# -- internals -------------------------------------------------------------------------------------------------


def _plan(delivery: Delivery) -> list[_Planned]:
    """Check every id and name, hash every file: a bad input fails before anything is uploaded."""
    keys.project_id(delivery.project)
    check_id(delivery.script_id, "script id")
    if not delivery.lines:
        raise StorageError(f"{delivery.project}/{delivery.script_id}: nothing to publish (no lines)")
    planned: list[_Planned] = []
    seen: dict[str, str] = {}
    for line in delivery.lines:
        name = keys.asset_key(delivery.project, delivery.script_id, 1, line.lang, line.line_id, line.ext)
        name = name.removeprefix(keys.version_prefix(delivery.project, delivery.script_id, 1))
        planned.append(_file(name, line.path, line))
    for extra in delivery.extras:
        name = keys.extra_key(delivery.project, delivery.script_id, 1, extra.name)
        name = name.removeprefix(keys.version_prefix(delivery.project, delivery.script_id, 1))
        planned.append(_file(name, extra.path, None))
    for item in planned:
        if item.name in seen:
            raise StorageError(f"two delivery files map to key '{item.name}': {seen[item.name]} and {item.path}")
        seen[item.name] = str(item.path)
    return planned


def _file(name: str, path: Path, line: DeliveryLine | None) -> _Planned:
    if not path.is_file():
        raise StorageError(f"delivery file {path} does not exist")
    ext = name.rsplit(".", 1)[-1]
    return _Planned(
        name, path, sha256_file(path), path.stat().st_size, CONTENT_TYPES.get(ext, "application/octet-stream"), line
    )


def _content(files: list[_Planned]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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


def _digest(lines: list[dict[str, Any]], extras: list[dict[str, Any]]) -> str:
    """What makes two publishes "the same content": every file's bytes and every line's metadata. ``take`` 0 is
    left out, so content published before takes existed keeps its digest (a re-run stays "already published")."""
    lines = [{k: v for k, v in line.items() if k != "take" or v} for line in lines]
    canonical = json.dumps({"lines": lines, "extras": extras}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


Manifest = dict[str, Any]


def _busy(store: ObjectStore, key: str, version: int, delivery: Delivery) -> VersionConflictError:
    return VersionConflictError(
        f"s3://{store.bucket('assets')}/{key} holds content this run did not plan: another run is publishing "
        f"v{version} of {delivery.project}/{delivery.script_id} now. Nothing was overwritten; re-run to publish "
        "as the next version."
    )


def _unplanned(store: ObjectStore, prefix: str, planned: dict[str, str]) -> list[str]:
    """Names under an unpublished version's prefix that this delivery would not write (or writes differently)."""
    strangers = []
    for obj in store.list("assets", prefix):
        name = obj.key.removeprefix(prefix)
        if name in (keys.MANIFEST_NAME, keys.CLAIM_NAME):
            continue
        if name not in planned:
            strangers.append(name)
    return sorted(strangers)


def _choose_version(store: ObjectStore, delivery: Delivery, digest: str, after: int = 0
                    ) -> tuple[int, Manifest | None, Manifest | None]:  # fmt: skip
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
            return delivery.version, None, _latest_manifest(store, project, script_id, earlier)
        if manifest["content_sha256"] == digest:
            return delivery.version, manifest, None
        raise VersionConflictError(
            f"{project}/{script_id} v{delivery.version} is already published with different content "
            f"(run {manifest.get('run_id')}); a published version is never rewritten. "
            "Publish without a version to create the next one."
        )
    listed = list_versions(store, project, script_id)
    published_at, previous = 0, None
    for version in reversed(listed):  # a hint: listings may lag behind writes, the walk below does not
        if (manifest := read_manifest(store, project, script_id, version)) is not None:
            published_at, previous = version, manifest
            break
    joinable: int | None = None
    version = max(published_at, 1)
    while True:  # from the newest published version up to the first number nobody has claimed
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


def _latest_manifest(store: ObjectStore, project: str, script_id: str, versions: list[int]) -> Manifest | None:
    for version in reversed(versions):
        if (manifest := read_manifest(store, project, script_id, version)) is not None:
            return manifest
    return None


def _manifest(
    delivery: Delivery,
    version: int,
    prefix: str,
    digest: str,
    lines: list[dict[str, Any]],
    extras: list[dict[str, Any]],
) -> dict[str, Any]:
    with_keys = [{"key": prefix + entry["name"], **entry} for entry in lines]
    extra_keys = [{"key": prefix + entry["name"], **entry} for entry in extras]
    durations = [entry["duration"] for entry in lines if entry["duration"] is not None]
    verdicts: dict[str, int] = {}
    for entry in lines:
        verdicts[entry["qa_verdict"]] = verdicts.get(entry["qa_verdict"], 0) + 1
    return {
        "schema": MANIFEST_SCHEMA,
        "project": delivery.project,
        "script_id": delivery.script_id,
        "version": version,
        "run_id": delivery.run_id,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": {"dubflow": __version__},
        "content_sha256": digest,
        "source": delivery.source,
        "languages": sorted({entry["lang"] for entry in lines}),
        "totals": {"lines": len(lines), "seconds": round(sum(durations), 3), "qa": verdicts},
        "lines": with_keys,
        "files": extra_keys,
    }
