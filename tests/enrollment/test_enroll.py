"""Enrollment on the suite's S3 server with real Whisper, real speaker encoder and real engines: a human clip is
checked, prepared, transcribed and stored; a refused clip stores nothing; a person's transcript replaces Whisper's;
runs take the enrolled clip and transcript; a CPU voice enrolled from its own engine catches a fallback voice."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
import soundfile as sf

from pipeline.audio.loudness import integrated_loudness, true_peak_db
from pipeline.engines.registry import EngineRegistry
from pipeline.enrollment.enroll import enroll_clip, enroll_new
from pipeline.enrollment.record import (
    EnrollmentError,
    correct_transcript,
    enrollments,
    load_enrollment,
    with_enrollments,
)
from pipeline.qa import models
from pipeline.settings import Settings
from pipeline.storage import keys
from pipeline.voices.catalog import load_catalog
from pipeline.voices.speak import reference_file
from tests.conftest import REPO

VOICES = REPO / "samples" / "voices"
ZH_CLIP = VOICES / "cosyvoice-zero-shot-prompt.wav"
EN_CLIP = VOICES / "cosyvoice-cross-lingual-prompt.wav"


@pytest.fixture(scope="module")
def asr() -> models.Models:
    return models.default_asr_models(Settings().qa.model_cache)


@pytest.fixture
def catalog(tmp_path):
    shutil.copy(ZH_CLIP, tmp_path / "zh.wav")
    shutil.copy(EN_CLIP, tmp_path / "en.wav")
    (tmp_path / "voices.yaml").write_text(
        "voices:\n"
        "  lin:\n    engine: cosyvoice\n    languages: [zh]\n    reference: zh.wav\n"
        "    reference_text: 希望你以后能够做的比我还好呦。\n"
        "  kai:\n    engine: cosyvoice\n    languages: [en]\n    reference: en.wav\n"
        "  joe:\n    engine: piper\n    engine_voice: en_US-joe-medium\n    languages: [en]\n"
        "  robot:\n    engine: espeak\n    engine_voice: en-us\n    languages: [en]\n",
        encoding="utf-8",
    )
    return load_catalog(tmp_path / "voices.yaml")


def test_a_human_clip_is_checked_trimmed_leveled_transcribed_and_stored(store, catalog, asr) -> None:
    record = enroll_clip(store, catalog.voice("lin"), catalog.reference_path(catalog.voice("lin")), asr)
    assert record.clip_key.startswith("voices/lin/reference-") and record.clip_key.endswith(".wav")
    assert record.transcript == "希望你以后能够做的比我还好呦。" and record.transcript_source == "catalog"
    assert record.confirmed and record.heard  # Whisper heard it, and agreed closely enough
    names = {c["name"]: c["verdict"] for c in record.checks}
    assert names == {"sample_rate": "pass", "duration": "warn", "level": "pass", "noise": "pass",
                     "clipping": "pass", "one_speaker": "pass", "transcript": "pass"}  # fmt: skip
    x, rate = sf.read(io.BytesIO(store.get_bytes("inbox", record.clip_key)), dtype="float32")
    original = sf.info(ZH_CLIP)
    assert rate == original.samplerate and len(x) / rate < original.duration  # leading/trailing silence trimmed
    assert abs(integrated_loudness(x, rate) - (-20.0)) < 1.0 and true_peak_db(x, rate) <= -1.9
    assert np.all(x[-int(0.2 * rate) :] == 0)  # CosyVoice's 0.2 s of tail silence
    assert load_enrollment(store, "lin") == record


def test_without_a_transcript_whispers_is_kept_unconfirmed_until_a_person_corrects_it(store, catalog, asr) -> None:
    record = enroll_clip(store, catalog.voice("kai"), catalog.reference_path(catalog.voice("kai")), asr)
    assert record.transcript_source == "asr" and not record.confirmed and len(record.transcript.split()) > 10
    assert {c["name"]: c["verdict"] for c in record.checks}["transcript"] == "warn"
    fixed = correct_transcript(store, "kai", "  What the clip\n really says.  ", "reviewer-1")
    assert fixed.transcript == "What the clip really says." and fixed.confirmed and fixed.corrected_by == "reviewer-1"
    assert fixed.previous_transcript == record.transcript and fixed.clip_key == record.clip_key
    assert load_enrollment(store, "kai") == fixed
    with pytest.raises(EnrollmentError, match="empty transcript"):
        correct_transcript(store, "kai", "   ", "reviewer-1")
    with pytest.raises(EnrollmentError, match="'nobody' is not enrolled"):
        correct_transcript(store, "nobody", "text", "reviewer-1")


def test_a_refused_clip_stores_nothing_and_names_the_voice_and_check(store, catalog, asr, tmp_path) -> None:
    zh, zh_rate = sf.read(ZH_CLIP, dtype="float32")
    en, en_rate = sf.read(EN_CLIP, dtype="float32")
    import soxr

    two = np.concatenate([soxr.resample(en, en_rate, zh_rate)[: 6 * zh_rate], zh]).astype(np.float32)
    sf.write(tmp_path / "two.wav", two, zh_rate)
    with pytest.raises(EnrollmentError, match=r"voice 'lin': the clip cannot be enrolled: one_speaker"):
        enroll_clip(store, catalog.voice("lin"), tmp_path / "two.wav", asr)
    (tmp_path / "junk.wav").write_bytes(b"RIFF not audio")
    with pytest.raises(EnrollmentError, match=r"junk\.wav: does not decode"):
        enroll_clip(store, catalog.voice("lin"), tmp_path / "junk.wav", asr)
    assert list(store.list("inbox", keys.VOICES_PREFIX)) == []


def test_runs_take_the_enrolled_clip_and_transcript_until_the_catalog_names_another_clip(store, catalog, asr) -> None:
    record = enroll_clip(store, catalog.voice("kai"), catalog.reference_path(catalog.voice("kai")), asr, "en.wav")
    applied = with_enrollments(catalog, store).voice("kai")
    assert applied.reference == f"s3://{store.bucket('inbox')}/{record.clip_key}"
    assert applied.reference_text == record.transcript and applied.reference_lang == "en"
    fetched = reference_file(applied.reference, store)
    assert sf.info(fetched).duration == pytest.approx(record.duration_s, abs=0.01)
    # The studio replaces the clip in the catalog: the old enrollment no longer applies (enroll again).
    shutil.copy(ZH_CLIP, catalog.reference_path(catalog.voice("kai")))
    assert with_enrollments(load_catalog(catalog.path), store).voice("kai").reference == "en.wav"


def test_new_voices_are_enrolled_once_and_cpu_voices_speak_their_own_reference(store, catalog, asr) -> None:
    registry = EngineRegistry(Settings().engines)
    first = enroll_new(store, registry, catalog, asr, ["lin", "robot"])
    assert sorted(first.enrolled) == ["lin", "robot"] and not first.failed
    robot = first.enrolled["robot"]
    assert robot.source.kind == "self" and robot.source.engine == "espeak" and robot.transcript_source == "script"
    assert robot.source.fingerprint == registry.fingerprint("espeak")
    again = enroll_new(store, registry, catalog, asr, ["lin", "robot"])
    assert sorted(again.kept) == ["lin", "robot"] and not again.enrolled
    forced = enroll_new(store, registry, catalog, asr, ["robot"], force=True)
    assert list(forced.enrolled) == ["robot"]
    assert sorted(enrollments(store)) == ["lin", "robot"]


def test_a_cpu_voices_own_reference_tells_it_from_a_fallback_voice(store, catalog, asr, speech, other_voice) -> None:
    """QA's speaker check, against joe's self-enrolled reference: joe's line passes, espeak's fails (the profile's
    default thresholds, 0.85 warn / 0.75 fail)."""
    from pipeline.audio.profiles import Profile

    enroll_new(store, EngineRegistry(Settings().engines), catalog, asr, ["joe"])
    reference = reference_file(with_enrollments(catalog, store).voice("joe").reference, store)
    profile = Profile(name="t")
    own = models.similarity(*speech, reference, profile)
    fallback = models.similarity(*other_voice, reference, profile)
    assert own.verdict == "pass" and fallback.verdict == "fail", (own, fallback)


def test_one_refused_clip_does_not_stop_the_others_and_each_says_why(store, catalog, asr, tmp_path) -> None:
    registry = EngineRegistry(Settings().engines)
    x, rate = sf.read(ZH_CLIP, dtype="float32")
    sf.write(catalog.reference_path(catalog.voice("lin")), x * 0.003, rate)  # a whisper of a take: too quiet
    (tmp_path / "en.wav").unlink()
    outcome = enroll_new(store, registry, catalog, asr, ["kai", "lin", "robot"])
    assert list(outcome.enrolled) == ["robot"]
    assert outcome.failed["lin"].startswith("voice 'lin': the clip cannot be enrolled: level") and "quiet" in (
        outcome.failed["lin"])  # fmt: skip
    assert outcome.failed["kai"].startswith("voice 'kai': reference clip en.wav:")
    assert sorted(enrollments(store)) == ["robot"]


def test_a_correction_lands_only_on_the_clip_the_reviewer_heard(store, catalog, asr) -> None:
    record = enroll_clip(store, catalog.voice("kai"), catalog.reference_path(catalog.voice("kai")), asr, "en.wav")
    with pytest.raises(EnrollmentError, match="enrolled again with another clip since"):
        correct_transcript(store, "kai", "Words.", "mei", clip_sha256="0" * 64)
    with pytest.raises(EnrollmentError, match="at most 2000"):
        correct_transcript(store, "kai", "word " * 500, "mei")
    fixed = correct_transcript(store, "kai", "What it says.", "mei", clip_sha256=record.clip_sha256)
    # Enrolled again from the same clip (--force): the person's transcript stays.
    again = enroll_new(store, EngineRegistry(Settings().engines), catalog, asr, ["kai"], force=True)
    assert again.enrolled["kai"].transcript == fixed.transcript and again.enrolled["kai"].transcript_source == "person"


def test_a_record_cannot_lend_one_voice_another_voices_clip(store, catalog, asr) -> None:
    record = enroll_clip(store, catalog.voice("lin"), catalog.reference_path(catalog.voice("lin")), asr, "zh.wav")
    forged = record.model_copy(update={"voice": "kai"})
    store.put_bytes("inbox", keys.enrollment_key("kai"), forged.model_dump_json().encode())
    assert sorted(enrollments(store)) == ["lin"]  # kai's forged record is refused (and logged)
    with pytest.raises(EnrollmentError, match="not its own voice and clip"):
        load_enrollment(store, "kai")


def test_an_s3_reference_replaced_at_the_same_uri_is_enrolled_again(store, catalog, asr, tmp_path) -> None:
    uri = f"s3://{store.bucket('inbox')}/studio/lin.wav"
    store.put_file("inbox", "studio/lin.wav", ZH_CLIP)
    (tmp_path / "voices.yaml").write_text(
        f"voices:\n  lin:\n    engine: cosyvoice\n    languages: [zh]\n    reference: {uri}\n"
        "    reference_text: 希望你以后能够做的比我还好呦。\n",
        encoding="utf-8",
    )
    remote = load_catalog(tmp_path / "voices.yaml")
    registry = EngineRegistry(Settings().engines)
    first = enroll_new(store, registry, remote, asr, ["lin"])
    assert list(first.enrolled) == ["lin"] and with_enrollments(remote, store).voice("lin").reference != uri
    assert list(enroll_new(store, registry, remote, asr, ["lin"]).kept) == ["lin"]
    x, rate = sf.read(ZH_CLIP, dtype="float32")
    replaced = io.BytesIO()
    sf.write(replaced, x * 0.5, rate, format="WAV")
    store.put_bytes("inbox", "studio/lin.wav", replaced.getvalue())
    assert with_enrollments(remote, store).voice("lin").reference == uri  # the old enrollment no longer applies
    assert list(enroll_new(store, registry, remote, asr, ["lin"]).enrolled) == ["lin"]
