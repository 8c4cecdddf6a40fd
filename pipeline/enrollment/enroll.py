"""Enrolling a voice, the way CosyVoice's own tools prepare a prompt: check the clip (``checks``), trim its
silence, bring it to one level under a peak ceiling, transcribe it with the multilingual Whisper model (a wrong
prompt transcript spoils the clone, so the transcript is kept for a person to confirm), and store clip, transcript
and checks with the voice (``record``).

A CPU voice has no studio recording: it is enrolled with a short passage spoken by its own engine, so speaker
similarity in QA catches a fallback engine speaking in its place.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from pipeline.audio.edit import fade, frame_db, remove_dc, trim
from pipeline.audio.loudness import normalize
from pipeline.digest import sha256_file
from pipeline.enrollment.checks import BANDS, Bands, check_clip
from pipeline.enrollment.record import (
    Enrollment,
    EnrollmentError,
    Source,
    TranscriptSource,
    enrollments,
    matches,
    now,
    save_enrollment,
)
from pipeline.qa import models
from pipeline.qa.results import Check
from pipeline.storage import keys
from pipeline.storage.store import sha256_bytes
from pipeline.voices.catalog import CLONING_ENGINES, Catalog, Voice

if TYPE_CHECKING:
    from pipeline.engines.registry import EngineRegistry
    from pipeline.storage.store import ObjectStore

log = logging.getLogger(__name__)

TARGET_LUFS = -20.0  # a prompt's level: loud enough for the speaker encoder, well under the ceiling
CEILING_DBTP = -2.0  # CosyVoice's web UI scales prompts to a peak of 0.8 (-1.9 dBFS)
TRIM_BELOW_PEAK_DB = 50.0  # silence is 50 dB under the loudest 10 ms (CosyVoice trims at 60 dB with librosa)
PAD_MS, TAIL_MS = 100, 200  # CosyVoice's web UI appends 0.2 s of silence to a trimmed prompt
# What a CPU voice says for its own reference (our own sentences, 5-8 s spoken): varied vowels and consonants give
# the speaker encoder a fair sample, and three 2-second stretches for the one-speaker check.
PASSAGES = {
    "en": "The harbour lights came on one by one as the fishing boats returned, and nobody on the pier said a word.",
    "zh": "傍晚的码头亮起了一盏盏灯，渔船陆续回港，岸上的人一时都没有说话。",
    "yue": "夜晚嘅码头一盏一盏咁着灯，啲渔船慢慢返嚟，岸边啲人都冇出声。",
    "ja": "夕方の町に明かりが一つずつつき、人々は静かに家へ帰っていった。",
}


@dataclass
class Prepared:
    """A clip ready to store: mono, trimmed, leveled, as 16-bit WAV bytes."""

    samples: np.ndarray
    rate: int
    wav: bytes
    checks: list[Check] = field(default_factory=list)


def read_clip(path: Path) -> tuple[np.ndarray, int]:
    """A clip as mono float32 (a stereo recording is mixed down); a file that does not decode is an error."""
    try:
        x, rate = sf.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise EnrollmentError(f"{path}: does not decode as audio: {exc}") from None
    if x.shape[1] > 2:
        raise EnrollmentError(f"{path}: {x.shape[1]} channels (a reference clip is mono or stereo)")
    return x.mean(axis=1), int(rate)


def prepare(x: np.ndarray, rate: int, voice_id: str, bands: Bands = BANDS) -> Prepared:
    """Check the clip as recorded; refuse it when a check fails; otherwise trim, level and encode it."""
    checks = check_clip(x, rate, bands)
    failed = [c for c in checks if c.verdict == "fail"]
    if failed:
        reasons = "; ".join(f"{c.name} {c.value} {c.unit} ({c.threshold}): {c.detail}" for c in failed)
        raise EnrollmentError(f"voice '{voice_id}': the clip cannot be enrolled: {reasons}")
    x = remove_dc(x.astype(np.float32))
    loudest = float(np.max(frame_db(x, rate)))
    x = trim(x, rate, max(loudest - TRIM_BELOW_PEAK_DB, -70.0), PAD_MS)  # the rule checks.duration measures by
    x, _, _ = normalize(x, rate, TARGET_LUFS, CEILING_DBTP)
    x = np.concatenate([fade(x.astype(np.float32), rate, 5), np.zeros(int(TAIL_MS / 1000 * rate), np.float32)])
    out = io.BytesIO()
    sf.write(out, x, rate, format="WAV", subtype="PCM_16")
    return Prepared(x, rate, out.getvalue(), checks)


def transcribe(x: np.ndarray, rate: int, lang: str, asr_models: models.Models) -> str | None:
    """What the multilingual Whisper model hears (the English-only model is for QA, not for prompts); None when
    there is no model for the language."""
    path = asr_models.get("*")
    if path is None or lang.split("-", 1)[0] in models.NO_BASE_MODEL:
        path, _ = models.asr_model(lang, asr_models)
    if path is None:
        return None
    try:
        whisper = models.whisper_model(path)
    except Exception as exc:  # faster-whisper missing or the model unreadable: no transcript, said so
        log.warning("no transcript for the reference clip: Whisper unavailable: %s", exc)
        return None
    options = dict(models.GREEDY, without_timestamps=True, max_new_tokens=440)
    segments, _ = whisper.transcribe(models.at_16k(x, rate), language=lang.split("-", 1)[0], **options)
    return " ".join(segment.text.strip() for segment in segments).strip()


def transcript_check(given: str | None, heard: str | None, lang: str) -> Check:
    """How far the transcript we will prompt with is from what Whisper hears in the clip."""
    if heard is None:
        return Check("transcript", "not-checked", detail=f"no ASR model for '{lang}'")
    if not heard.strip():
        return Check("transcript", "fail", detail="no speech heard in the clip")
    if given is None:
        return Check("transcript", "warn", detail="Whisper's transcript: a person should confirm it")
    value, unit = models.error_rate(given, heard, lang)
    verdict = "pass" if value <= 0.15 else "warn"
    why = "" if verdict == "pass" else f"the transcript and what is heard differ (heard: {heard[:120]!r}): check it"
    return Check("transcript", verdict, round(float(value), 3), unit, "≤ 0.15", why)


def enroll_samples(
    store: ObjectStore,
    voice: Voice,
    x: np.ndarray,
    rate: int,
    source: Source,
    asr_models: models.Models,
    transcript: str | None = None,
    transcript_source: TranscriptSource = "catalog",
    bands: Bands = BANDS,
) -> Enrollment:
    """Check, prepare, transcribe and store one clip as ``voice``'s reference. Nothing is stored when a check
    fails; the clip is stored before the record that names it."""
    lang = voice.reference_lang or voice.languages[0]
    prepared = prepare(x, rate, voice.id, bands)
    heard = transcribe(prepared.samples, prepared.rate, lang, asr_models)
    said = transcript_check(transcript, heard, lang)
    if said.verdict == "fail":
        raise EnrollmentError(f"voice '{voice.id}': the clip cannot be enrolled: {said.detail}")
    digest = sha256_bytes(prepared.wav)
    kept = _person_transcript(store, voice.id, digest)
    if kept is not None:  # enrolled again (--force) from the same clip: a person's correction stays
        transcript, transcript_source = kept, "person"
    text = transcript if transcript is not None else (heard or "")
    if not text:
        raise EnrollmentError(f"voice '{voice.id}': no transcript given and no ASR model for '{lang}' to make one")
    clip_key = keys.voice_clip_key(voice.id, digest)
    if not store.has_same_content("inbox", clip_key, digest):
        store.put_bytes("inbox", clip_key, prepared.wav, "audio/wav")
    record = Enrollment(
        voice=voice.id,
        clip_key=clip_key,
        clip_sha256=digest,
        duration_s=round(len(prepared.samples) / prepared.rate, 3),
        sample_rate=prepared.rate,
        lang=lang,
        transcript=" ".join(text.split()),
        transcript_source=transcript_source if transcript is not None else "asr",
        heard=heard,
        checks=[asdict(c) for c in [*prepared.checks, said]],
        source=source,
        enrolled_at=now(),
    )
    save_enrollment(store, record)
    return record


def _person_transcript(store: ObjectStore, voice_id: str, digest: str) -> str | None:
    from pipeline.enrollment.record import load_enrollment

    try:
        record = load_enrollment(store, voice_id)
    except EnrollmentError:
        return None
    same = record is not None and record.clip_sha256 == digest and record.transcript_source == "person"
    return record.transcript if same and record is not None else None


def enroll_clip(
    store: ObjectStore,
    voice: Voice,
    clip: Path,
    asr_models: models.Models,
    uri: str | None = None,
    transcript: str | None = None,
    sha256: str | None = None,
) -> Enrollment:
    """A studio's recording as the voice's reference; ``uri`` is what the catalog calls it (default: the path) and
    ``sha256`` its content as ``record.current_sha256`` sees it (default: the file's). The transcript defaults to
    the catalog's ``reference_text``; without one, Whisper's (unconfirmed)."""
    x, rate = read_clip(clip)
    source = Source(kind="clip", uri=uri or str(clip), sha256=sha256 or sha256_file(clip))
    text = transcript if transcript is not None else voice.reference_text
    return enroll_samples(store, voice, x, rate, source, asr_models, text, "person" if transcript else "catalog")


def enroll_self(
    store: ObjectStore, registry: EngineRegistry, catalog: Catalog, voice: Voice, asr_models: models.Models
) -> Enrollment:
    """A CPU voice's reference: its own engine speaking ``PASSAGES`` in the voice's first language."""
    from pipeline.engines.base import EngineError
    from pipeline.voices.audition import AuditionError, audition

    lang = voice.reference_lang or voice.languages[0]
    passage = PASSAGES.get(lang.split("-", 1)[0])
    if passage is None:
        raise EnrollmentError(f"voice '{voice.id}': no reference passage for '{lang}' (enroll a recording instead)")
    try:
        spoken = audition(registry, catalog, voice.id, passage, lang)
    except (EngineError, AuditionError) as exc:
        raise EnrollmentError(f"voice '{voice.id}': its engine could not speak its reference: {exc}") from None
    by = {"engine": voice.engine, "engine_voice": voice.engine_voice, "speaker_id": voice.speaker_id, "lang": lang}
    source = Source(kind="self", fingerprint=registry.fingerprint(voice.engine), **by)
    return enroll_samples(store, voice, spoken.samples, spoken.sample_rate, source, asr_models, passage, "script")


@dataclass
class Outcome:
    """What one enrollment pass did with each voice."""

    enrolled: dict[str, Enrollment] = field(default_factory=dict)
    kept: dict[str, Enrollment] = field(default_factory=dict)  # already enrolled and still matching the catalog
    skipped: dict[str, str] = field(default_factory=dict)  # voice → why it was not enrolled (not an error)
    failed: dict[str, str] = field(default_factory=dict)  # voice → why its clip was refused


def enroll_new(
    store: ObjectStore,
    registry: EngineRegistry,
    catalog: Catalog,
    asr_models: models.Models,
    voice_ids: list[str] | None = None,
    force: bool = False,
) -> Outcome:
    """Enroll every voice of the catalog (or ``voice_ids``) that has no enrollment matching it: a voice with a
    reference clip from that clip, a CPU voice from its own engine. A refused clip is recorded and the others go
    on; a cloning voice without a clip is a catalog error reported elsewhere (``load_catalog``)."""
    from pipeline.enrollment.record import current_sha256
    from pipeline.storage.errors import StorageError, StorageUnavailableError
    from pipeline.voices.speak import reference_file

    records = enrollments(store)
    outcome = Outcome()
    for voice_id in voice_ids or sorted(catalog.voices):
        voice = catalog.voice(voice_id)
        record = records.get(voice_id)
        try:
            digest = current_sha256(catalog, voice, store)
            if record is not None and not force and matches(record, voice, digest) and _current(record, registry):
                outcome.kept[voice_id] = record
            elif voice.reference is not None:
                remote = voice.reference.startswith("s3://")
                path = reference_file(voice.reference, store) if remote else catalog.reference_path(voice)
                if path is None or digest is None:
                    raise FileNotFoundError(f"{voice.reference} does not exist")
                outcome.enrolled[voice_id] = enroll_clip(store, voice, path, asr_models, voice.reference, sha256=digest)
            elif record is not None and record.source.kind == "clip":
                outcome.skipped[voice_id] = "enrolled by hand from a clip: enroll it again with --clip"
            elif voice.engine in CLONING_ENGINES:
                outcome.skipped[voice_id] = f"{voice.engine} clones from a reference clip and the catalog gives none"
            else:
                outcome.enrolled[voice_id] = enroll_self(store, registry, catalog, voice, asr_models)
        except EnrollmentError as exc:
            outcome.failed[voice_id] = str(exc)
        except StorageUnavailableError:
            raise  # the store is down: every voice would fail alike, and a retry may succeed
        except (OSError, KeyError, StorageError) as exc:  # a clip that is not there (locally or in the store)
            outcome.failed[voice_id] = f"voice '{voice_id}': reference clip {voice.reference}: {exc}"
    return outcome


def _current(record: Enrollment, registry: EngineRegistry) -> bool:
    """A self-enrolled voice whose engine's model changed since must speak its reference again."""
    source = record.source
    if source.kind != "self" or source.engine is None:
        return True
    try:
        return registry.fingerprint(source.engine) == source.fingerprint
    except Exception:  # an engine not enabled here: keep what was enrolled where it was
        return True
