"""The inbox: scripts waiting to be voiced, under ``{project}/{YYYY-MM-DD}/`` in the inbox bucket.

The date in the key is the arrival day, so a scheduled run (or a backfill of a past interval) discovers exactly
the scripts of its data interval, the same ones every time it is re-run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

from pipeline.digest import sha256_file
from pipeline.storage import keys
from pipeline.storage.errors import StorageError
from pipeline.storage.store import ObjectInfo, ObjectStore

_INBOX = re.compile(r"^([^/]+)/(\d{4}-\d{2}-\d{2})/([^/]+)$")


@dataclass(frozen=True)
class InboxItem:
    project: str
    day: date
    key: str
    size: int
    last_modified: datetime | None

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Upload:
    key: str
    sha256: str
    uploaded: bool  # False when the same content was already there


def put_script(store: ObjectStore, path: Path, project: str, day: date | None = None) -> Upload:
    """Upload a script file for ``project``; the same file twice on one day is uploaded once."""
    if not path.is_file():
        raise StorageError(f"{path}: no such script file")
    max_bytes = 50 * 1024 * 1024
    if path.stat().st_size > max_bytes:
        raise StorageError(f"{path}: {path.stat().st_size} bytes is larger than the inbox limit of {max_bytes}")
    key = keys.inbox_key(project, day or datetime.now(UTC).date(), path.name)
    digest = sha256_file(path)
    there = store.stat("inbox", key)
    if there is not None and there.sha256 == digest:
        return Upload(key, digest, uploaded=False)
    if there is not None and there.metadata.get("original-name") != quote(path.name):
        raise StorageError(
            f"{path.name}: s3://{store.bucket('inbox')}/{key} already holds another script "
            f"({unquote(there.metadata.get('original-name', '?'))}) that arrived the same day under the same safe "
            "name; rename one of them"
        )
    # The same file name again with new content is a corrected script: it replaces the first (bucket versioning
    # keeps the old one), and the day's run picks up the correction.
    store.put_file("inbox", key, path, metadata={"original-name": quote(path.name), "project": project}, sha256=digest)
    return Upload(key, digest, uploaded=True)


def discover(store: ObjectStore, project: str, start: date, end: date) -> list[InboxItem]:
    """Scripts that arrived for ``project`` on days in [start, end): one data interval of a scheduled run."""
    if end <= start:
        raise ValueError(f"empty window: {start} .. {end}")
    if (end - start).days > 3660:
        raise ValueError(f"window {start} .. {end} is longer than ten years; backfill it in pieces")
    root = f"{keys.project_id(project)}/"
    if (end - start).days <= 31:  # a schedule interval: one listing per day touches only those days
        prefixes = [f"{root}{(start + timedelta(days=n)).isoformat()}/" for n in range((end - start).days)]
    else:  # a backfill window: one listing of the project beats hundreds of empty ones
        prefixes = [root]
    items = [_item(obj) for prefix in prefixes for obj in store.list("inbox", prefix) if _INBOX.match(obj.key)]
    return sorted((item for item in items if start <= item.day < end), key=lambda item: item.key)


def _item(obj: ObjectInfo) -> InboxItem:
    match = _INBOX.match(obj.key)
    assert match is not None  # filtered by the caller
    return InboxItem(match.group(1), date.fromisoformat(match.group(2)), obj.key, obj.size, obj.last_modified)
