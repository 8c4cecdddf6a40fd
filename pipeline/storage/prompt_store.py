"""Extracted speaker prompts in the staging bucket, so a worker that starts later loads them instead of
re-running the speech tokenizer, speaker encoder and feature extraction on the reference clip.

The seed deployment kept these "embedding caches" in Redis; here they are objects addressed by what they are
made from (reference clip, prompt text, model fingerprint), so a changed clip or model never finds a stale one.
"""

from __future__ import annotations

from pipeline.storage import keys
from pipeline.storage.store import ObjectStore


class StagingPromptStore:
    def __init__(self, store: ObjectStore):
        self.store = store

    def get(self, digest: str) -> bytes | None:
        key = keys.prompt_key(digest)
        return self.store.get_bytes("staging", key) if self.store.exists("staging", key) else None

    def put(self, digest: str, data: bytes) -> None:
        self.store.put_bytes("staging", keys.prompt_key(digest), data)
