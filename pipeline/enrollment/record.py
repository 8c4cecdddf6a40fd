"""Enrolled voices in object storage: ``voices/{voice}/enrollment.json`` in the inbox bucket names the voice's
prepared reference clip (``voices/{voice}/reference-{sha}.wav``), its prompt transcript and the checks it passed.

The record is the commit point: the clip is stored first under a content-addressed key, the record last, so a run
sees either the old enrollment or the new one, never a record whose clip is missing. Every run applies the records
to the catalog it loaded (:func:`with_enrollments`): a corrected transcript or a re-enrolled clip is used by the
next run without editing ``voices.yaml``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.storage import keys
from pipeline.voices.catalog import Catalog, Voice

if TYPE_CHECKING:
    from pipeline.storage.store import ObjectStore

log = logging.getLogger(__name__)

# Where the prompt transcript came from: Whisper, the catalog's reference_text, the text a CPU voice was asked to
# say for its own reference, or a person who corrected it. Only "asr" is unconfirmed.
TranscriptSource = Literal["asr", "catalog", "script", "person"]


class Source(BaseModel):
    """What was enrolled: a studio's clip (``clip``: its URI or path and its sha256) or a CPU voice speaking a
    passage with its own engine (``self``: the engine, its voice and fingerprint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["clip", "self"]
    uri: str | None = None
    sha256: str | None = None
    engine: str | None = None
    engine_voice: str | None = None
    fingerprint: str | None = None


class Enrollment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    voice: str
    clip_key: str  # inbox bucket
    clip_sha256: str
    duration_s: float
    sample_rate: int
    lang: str
    transcript: str
    transcript_source: TranscriptSource
    heard: str | None = None  # what Whisper heard in the prepared clip (None: no ASR model for the language)
    checks: list[dict[str, Any]] = Field(default_factory=list)  # pipeline.qa.results.Check as dicts
    source: Source
    enrolled_at: str
    corrected_by: str | None = None
    corrected_at: str | None = None
    previous_transcript: str | None = None  # what the last correction replaced

    @property
    def confirmed(self) -> bool:
        """A person (or the catalog, or our own script) stands behind the transcript; Whisper alone does not."""
        return self.transcript_source != "asr"

    def warnings(self) -> list[str]:
        return [f"{c['name']}: {c.get('detail') or c.get('value')}" for c in self.checks if c["verdict"] == "warn"]


class EnrollmentError(ValueError):
    """A clip that cannot be enrolled, with every reason (the checks that failed), naming the voice."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load_enrollment(store: ObjectStore, voice_id: str) -> Enrollment | None:
    key = keys.enrollment_key(voice_id)
    if store.stat("inbox", key) is None:
        return None
    return _parse(store.get_bytes("inbox", key), key)


def _parse(data: bytes, key: str) -> Enrollment:
    try:
        return Enrollment.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise EnrollmentError(f"{key}: not an enrollment record: {exc}") from None


def save_enrollment(store: ObjectStore, record: Enrollment) -> None:
    data = json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=2).encode()
    store.put_bytes("inbox", keys.enrollment_key(record.voice), data, "application/json")


def enrollments(store: ObjectStore) -> dict[str, Enrollment]:
    """Every enrollment record in the store, by voice id (an unreadable record is logged and left out)."""
    found: dict[str, Enrollment] = {}
    for obj in store.list("inbox", keys.VOICES_PREFIX):
        parts = obj.key.split("/")
        if len(parts) == 3 and parts[2] == "enrollment.json":
            try:
                found[parts[1]] = _parse(store.get_bytes("inbox", obj.key), obj.key)
            except EnrollmentError as exc:
                log.warning("%s", exc)
    return found


def correct_transcript(store: ObjectStore, voice_id: str, text: str, by: str) -> Enrollment:
    """A person's transcript replaces the current one (the one it replaced is kept in the record)."""
    text = " ".join(text.split())
    if not text:
        raise EnrollmentError(f"voice '{voice_id}': an empty transcript cannot be a prompt")
    record = load_enrollment(store, voice_id)
    if record is None:
        raise EnrollmentError(f"voice '{voice_id}' is not enrolled (enroll it first: dubflow voices enroll)")
    if text == record.transcript and record.transcript_source == "person":
        return record
    updated = record.model_copy(
        update={
            "transcript": text,
            "transcript_source": "person",
            "corrected_by": by,
            "corrected_at": now(),
            "previous_transcript": record.transcript,
        }
    )
    save_enrollment(store, updated)
    return updated


def matches(record: Enrollment, voice: Voice, reference_sha256: str | None = None) -> bool:
    """Does the record still describe what the catalog asks for? When the catalog names a clip, the record must be
    of that clip (its URI, and its content when known). When it names none, a clip enrolled by hand (``dubflow
    voices enroll V --clip``) is the voice's; a self-enrolled one must be of the same engine and engine voice."""
    source = record.source
    if voice.reference is not None:
        same_clip = source.kind == "clip" and source.uri == voice.reference
        return same_clip and (reference_sha256 is None or source.sha256 == reference_sha256)
    if source.kind == "clip":
        return True
    return source.engine == voice.engine and source.engine_voice == voice.engine_voice


def with_enrollments(catalog: Catalog, store: ObjectStore, records: dict[str, Enrollment] | None = None) -> Catalog:
    """The catalog with each enrolled voice's reference clip and transcript taken from its record. A record that no
    longer matches the catalog (a new clip was configured) is not used, with a warning: enroll the voice again."""
    from pipeline.digest import sha256_file

    records = enrollments(store) if records is None else records
    voices = dict(catalog.voices)
    for voice_id, record in records.items():
        voice = voices.get(voice_id)
        if voice is None:
            continue
        path = catalog.reference_path(voice)
        digest = sha256_file(path) if path is not None and path.is_file() else None
        if not matches(record, voice, digest):
            log.warning("voice %s: its enrollment is for another clip or engine voice; enroll it again", voice_id)
            continue
        uri = f"s3://{store.bucket('inbox')}/{record.clip_key}"
        update = {"reference": uri, "reference_text": record.transcript, "reference_lang": record.lang}
        voices[voice_id] = voice.model_copy(update=update)
    return Catalog(catalog.path, voices, catalog.projects, catalog.problems)
