"""Prompt pickup: an asset watcher on the inbox, so a script put there is voiced within a poll, not the next day.

The triggerer runs one ``InboxTrigger`` for the ``dubflow_inbox`` asset (however many DAGs are scheduled on it):
every ``poll_seconds`` it lists today's and yesterday's folder (UTC) of every project (1 + 2 × projects LIST
requests) and fires one event naming the scripts it has not announced before. A script counts as new again when
its content changes (its ETag). What it announced is kept in the asset's state store, so a restarted triggerer
does not announce the same scripts twice and does announce what arrived while it was down. The very first start
announces the two days' scripts that are there: those already published come back "already published" in a
fraction of a second each. No DAG run is created while the inbox has nothing new.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)
STATE_KEY = "announced"  # inbox key → ETag, for the last two days' folders


class InboxTrigger(BaseEventTrigger):
    def __init__(self, poll_seconds: float = 60.0) -> None:
        super().__init__()
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__name__}", {"poll_seconds": self.poll_seconds}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        store = await _store()
        announced = await self._state()
        log.info("inbox watch: every %.0f s, %d script(s) announced before", self.poll_seconds, len(announced))
        while True:
            try:
                current = await asyncio.to_thread(recent_scripts, store, datetime.now(UTC))
            except Exception as exc:  # a server that is down now may be up at the next poll
                log.warning("inbox watch: listing failed, trying again in %.0f s: %s", self.poll_seconds, exc)
            else:
                new = sorted(key for key, etag in current.items() if announced.get(key) != etag)
                announced = current  # what is no longer in the last two days' folders is forgotten
                await self._save(announced)
                if new:
                    log.info("inbox watch: %d new script(s): %s", len(new), ", ".join(new[:10]))
                    yield TriggerEvent({"keys": new})
            await asyncio.sleep(self.poll_seconds)

    async def _state(self) -> dict[str, str]:
        if self.asset_state_store is None:  # not run by a triggerer (a test): no memory between runs
            return {}
        value = await self.asset_state_store.aget(STATE_KEY)
        return dict(value) if isinstance(value, dict) else {}

    async def _save(self, announced: dict[str, str]) -> None:
        if self.asset_state_store is not None:
            await self.asset_state_store.aset(STATE_KEY, announced)


def recent_scripts(store: Any, now: datetime) -> dict[str, str]:
    """Inbox key → ETag of every script in today's and yesterday's folder of every project."""
    from pipeline.storage.keys import INBOX_KEY_PATTERN, RESERVED_PROJECTS

    pattern = re.compile(INBOX_KEY_PATTERN)
    days = [(now - timedelta(days=n)).date().isoformat() for n in (1, 0)]
    folders = [p.key for p in store.list("inbox", "", recursive=False) if p.key.endswith("/")]
    projects = [folder for folder in folders if folder[:-1] not in RESERVED_PROJECTS]  # voices/ is no project
    found = {}
    for project in projects:
        for day in days:
            for obj in store.list("inbox", f"{project}{day}/"):
                if pattern.fullmatch(obj.key):
                    found[obj.key] = obj.etag
    return found


async def _store() -> Any:
    """The object store of ``minio_default`` when defined (read without blocking the triggerer), else the defaults."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from dubflow_airflow.hooks import STORE_CONN, base_settings, store_overrides
    from pipeline.storage.store import ObjectStore

    base = base_settings().storage
    try:
        conn = await BaseHook.aget_connection(STORE_CONN)
    except AirflowNotFoundException:
        storage = base
    else:
        storage = type(base).model_validate({**base.model_dump(), **store_overrides(conn)})
    return await asyncio.to_thread(ObjectStore.from_settings, storage)


def inbox_asset(poll_seconds: float) -> Asset:
    """The inbox as an asset with its watcher: schedule a DAG on it to be run for new scripts."""
    watcher = AssetWatcher(name="dubflow_inbox_watch", trigger=InboxTrigger(poll_seconds=poll_seconds))
    return Asset(name="dubflow_inbox", uri="dubflow://inbox", watchers=[watcher])


def event_keys(events: Any, asset: Asset) -> list[str]:
    """The inbox keys the watcher announced to this run (several events may have been batched into it)."""
    keys = {
        key for event in events.get(asset, []) for key in ((event.extra or {}).get("payload") or {}).get("keys", [])
    }
    return sorted(keys)
