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

from pipeline.ids import InvalidIdError
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
    speaker_id: int | None = None
    lang: str | None = None
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


MAX_TRANSCRIPT = 2000  # characters: a 30 s clip says a few hundred


def load_enrollment(store: ObjectStore, voice_id: str) -> Enrollment | None:
    found = _load(store, voice_id)
    return found[0] if found else None


def _load(store: ObjectStore, voice_id: str) -> tuple[Enrollment, str] | None:
    """The record and its ETag (for a conditional replace)."""
    key = keys.enrollment_key(voice_id)
    info = store.stat("inbox", key)
    if info is None:
        return None
    return _parse(store.get_bytes("inbox", key), key, voice_id), info.etag


def _parse(data: bytes, key: str, voice_id: str) -> Enrollment:
    """A record, which must be of the voice whose folder holds it and name a clip inside that folder: a record
    copied or written by hand can never lend one voice another's clip, or any other object."""
    try:
        record = Enrollment.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise EnrollmentError(f"{key}: not an enrollment record: {exc}") from None
    prefix = keys.voice_prefix(voice_id)
    own_clip = record.clip_key.startswith(prefix) and "/" not in record.clip_key[len(prefix) :]
    if record.voice != voice_id or not own_clip:
        named = f"voice {record.voice!r} and clip {record.clip_key!r}"
        raise EnrollmentError(f"{key}: the record names {named}, not its own voice and clip")
    return record


def _encode(record: Enrollment) -> bytes:
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=2).encode()


def save_enrollment(store: ObjectStore, record: Enrollment) -> None:
    store.put_bytes("inbox", keys.enrollment_key(record.voice), _encode(record), "application/json")


def enrollments(store: ObjectStore) -> dict[str, Enrollment]:
    """Every enrollment record in the store, by voice id (an unreadable record is logged and left out)."""
    found: dict[str, Enrollment] = {}
    for obj in store.list("inbox", keys.VOICES_PREFIX):
        parts = obj.key.split("/")
        if len(parts) == 3 and parts[2] == "enrollment.json":
            try:
                found[parts[1]] = _parse(store.get_bytes("inbox", obj.key), obj.key, parts[1])
            except (EnrollmentError, InvalidIdError) as exc:
                log.warning("%s", exc)
    return found


def correct_transcript(
    store: ObjectStore, voice_id: str, text: str, by: str, clip_sha256: str | None = None
) -> Enrollment:
    """A person's transcript replaces the current one (the one it replaced is kept in the record). ``clip_sha256``
    is the clip they listened to: if the voice was re-enrolled since, the correction is refused, not applied to a
    clip they never heard; a record changed by someone else meanwhile is refused the same way (conditional PUT)."""
    text = " ".join(text.split())
    if not text:
        raise EnrollmentError(f"voice '{voice_id}': an empty transcript cannot be a prompt")
    if len(text) > MAX_TRANSCRIPT:
        raise EnrollmentError(f"voice '{voice_id}': {len(text)} characters; a transcript has at most {MAX_TRANSCRIPT}")
    found = _load(store, voice_id)
    if found is None:
        raise EnrollmentError(f"voice '{voice_id}' is not enrolled (enroll it first: dubflow voices enroll)")
    record, etag = found
    if clip_sha256 is not None and clip_sha256 != record.clip_sha256:
        raise EnrollmentError(f"voice '{voice_id}' was enrolled again with another clip since: listen to it first")
    if text == record.transcript and record.transcript_source == "person":
        return record
    update = {"transcript": text, "transcript_source": "person", "corrected_by": by, "corrected_at": now()}
    updated = record.model_copy(update={**update, "previous_transcript": record.transcript})
    if not store.put_json_if("inbox", keys.enrollment_key(voice_id), _encode(updated), etag=etag):
        raise EnrollmentError(f"voice '{voice_id}': its record changed while you edited it: reload and try again")
    return updated


def matches(record: Enrollment, voice: Voice, reference_sha256: str | None = None) -> bool:
    """Does the record still describe what the catalog asks for? When the catalog names a clip, the record must be
    of that clip (its URI, and its content when known). When it names none, a clip enrolled by hand (``dubflow
    voices enroll V --clip``) is the voice's; a self-enrolled one must be of the same engine, engine voice, speaker
    and language."""
    source = record.source
    if voice.reference is not None:
        same_clip = source.kind == "clip" and source.uri == voice.reference
        return same_clip and (reference_sha256 is None or source.sha256 == reference_sha256)
    if source.kind == "clip":
        return True
    spoken = (voice.engine, voice.engine_voice, voice.speaker_id, voice.reference_lang or voice.languages[0])
    return (source.engine, source.engine_voice, source.speaker_id, source.lang or spoken[3]) == spoken


def current_sha256(catalog: Catalog, voice: Voice, store: ObjectStore) -> str | None:
    """The content hash of the clip the catalog names for ``voice`` now (None: no clip, or not there)."""
    from pipeline.digest import sha256_file

    if voice.reference is None:
        return None
    if voice.reference.startswith("s3://"):
        info = store.stat_uri(voice.reference)
        return info.sha256 or info.etag if info is not None else None
    path = catalog.reference_path(voice)
    return sha256_file(path) if path is not None and path.is_file() else None


def with_enrollments(catalog: Catalog, store: ObjectStore, records: dict[str, Enrollment] | None = None) -> Catalog:
    """The catalog with each enrolled voice's reference clip and transcript taken from its record. A record that no
    longer matches the catalog (a new clip was configured) is not used, with a warning: enroll the voice again."""
    records = enrollments(store) if records is None else records
    voices = dict(catalog.voices)
    for voice_id, record in records.items():
        voice = voices.get(voice_id)
        if voice is None:
            continue
        if not matches(record, voice, current_sha256(catalog, voice, store)):
            log.warning("voice %s: its enrollment is for another clip or engine voice; enroll it again", voice_id)
            continue
        uri = f"s3://{store.bucket('inbox')}/{record.clip_key}"
        update = {"reference": uri, "reference_text": record.transcript, "reference_lang": record.lang}
        voices[voice_id] = voice.model_copy(update=update)
    return Catalog(catalog.path, voices, catalog.projects, catalog.problems)
