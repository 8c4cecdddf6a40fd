"""``dubflow voices enroll | enrolled | transcript``: voice enrollment from the command line (the enrollment DAG
and the Review tab do the same through ``pipeline.enrollment``)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ConfigOpt, console, err, fail, failing, settings_or_exit, store_or_exit
from pipeline.console import print_problems, rows_table
from pipeline.enrollment.record import Enrollment, EnrollmentError, correct_transcript, enrollments, load_enrollment
from pipeline.ids import InvalidIdError
from pipeline.storage.errors import StorageError


def voices_enroll(
    voices: Annotated[list[str] | None, typer.Argument(help="Voice ids (default: every voice in the catalog).")] = None,
    clip: Annotated[Path | None, typer.Option(help="Enroll this recording for the one voice named.")] = None,
    text: Annotated[str | None, typer.Option(help="The clip's exact transcript (default: Whisper's).")] = None,
    force: Annotated[bool, typer.Option(help="Enroll again even when the enrollment is current.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Check, prepare, transcribe and store reference clips: each voice from its catalog clip (or --clip), a CPU
    voice from its own engine. Prints each voice's checks and transcript; exit 1 if any voice was refused."""
    from pipeline.engines.registry import EngineRegistry
    from pipeline.enrollment.enroll import enroll_clip, enroll_new
    from pipeline.qa.models import default_asr_models
    from pipeline.storage.connect import connect_store
    from pipeline.voices.catalog import load_catalog

    settings = settings_or_exit(config)
    catalog = load_catalog(settings.voices_file)
    asr = {**default_asr_models(settings.qa.model_cache), **settings.qa.asr_models}
    with failing(StorageError):
        store, _ = connect_store(settings)
    if clip is not None:
        if len(voices or []) != 1:
            raise fail("--clip enrolls one voice: name exactly one")
        with failing(KeyError):
            voice = catalog.voice(voices[0])
        if voice.reference is not None:
            where = f"the catalog names its clip ({voice.reference}): replace that file, or change reference:"
            raise fail(f"voice '{voice.id}': {where}, and enroll it without --clip")
        with failing(EnrollmentError, StorageError, InvalidIdError):
            record = enroll_clip(store, voice, clip, asr, transcript=text)
        _show(record)
        return
    if text is not None:
        raise fail("--text goes with --clip (to correct an enrolled transcript: dubflow voices transcript)")
    with failing(KeyError):
        ids = [catalog.voice(v).id for v in voices] if voices else None
    if errors := [p for p in catalog.problems if p.severity == "error"]:
        print_problems(err, errors)
        raise typer.Exit(1)
    with console.status("enrolling"), failing(StorageError):
        outcome = enroll_new(store, EngineRegistry(settings.engines), catalog, asr, ids, force)
    for record in outcome.enrolled.values():
        _show(record)
    for voice_id in outcome.kept:
        console.print(f"{voice_id}: already enrolled (--force to enroll again)", highlight=False)
    for voice_id, why in outcome.skipped.items():
        console.print(f"{voice_id}: skipped: {why}", style="yellow", highlight=False, markup=False)
    for why in outcome.failed.values():
        err.print(f"✗ {why}", style="red", markup=False, soft_wrap=True)
    if outcome.failed:
        raise typer.Exit(1)


def voices_enrolled(
    voice: Annotated[str | None, typer.Argument(help="One voice, with its checks (default: a table of all).")] = None,
    config: ConfigOpt = None,
) -> None:
    """The enrolled voices: clip, length, language, transcript and whether a person confirmed it."""
    store = store_or_exit(config)
    if voice is not None:
        with failing(StorageError, InvalidIdError, EnrollmentError):
            record = load_enrollment(store, voice)
        if record is None:
            raise fail(f"voice '{voice}' is not enrolled")
        _show(record)
        return
    with failing(StorageError):
        records = enrollments(store)
    rows = [
        (
            r.voice,
            f"{r.duration_s:.1f} s",
            r.lang,
            _confirmation(r),
            r.transcript,
            f"s3://{store.bucket('inbox')}/{r.clip_key}",
        )
        for r in records.values()
    ]
    console.print(rows_table("enrolled voices", ("voice", "clip", "lang", "transcript by", "transcript", "clip"), rows))


def voices_transcript(
    voice: Annotated[str, typer.Argument(help="The enrolled voice.")],
    text: Annotated[str, typer.Argument(help="What the reference clip says, exactly.")],
    by: Annotated[str | None, typer.Option(help="Who corrected it (default: the login name).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Correct an enrolled voice's prompt transcript: the next run's cloning uses it (and re-voices that voice)."""
    store = store_or_exit(config)
    with failing(StorageError, InvalidIdError, EnrollmentError):
        record = correct_transcript(store, voice, text, by or getpass.getuser())
    console.print(f"{record.voice}: transcript by {record.corrected_by}: {record.transcript}", highlight=False)


def _confirmation(record: Enrollment) -> str:
    return record.corrected_by or record.transcript_source if record.confirmed else "Whisper (unconfirmed)"


def _show(record: Enrollment) -> None:
    console.print(f"[bold]{record.voice}[/bold]: {record.duration_s:.1f} s at {record.sample_rate} Hz, {record.lang}")
    for check in record.checks:
        value = "" if check["value"] is None else f" {check['value']} {check['unit']}".rstrip()
        why = f" — {check['detail']}" if check["detail"] else ""
        style = {"pass": "green", "warn": "yellow", "fail": "red"}.get(check["verdict"], "dim")
        line = f"  {check['verdict']:<11} {check['name']}{value} ({check['threshold'] or 'no band'}){why}"
        console.print(line, style=style, markup=False, highlight=False)
    console.print(f"  transcript ({_confirmation(record)}): {record.transcript}", markup=False, highlight=False)
