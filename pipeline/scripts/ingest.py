"""One script file → validated ``Line`` records, with every problem found on the way.

Ids: a ``line_id`` from the file is checked and kept. Otherwise it is derived from the speaker and the canonical
text, so re-ingesting an edited script keeps the ids of the lines that did not change, whatever moved around
them; the n-th repeat of the same speaker+text gets a ``-n`` suffix.

No input makes ingestion raise: every file ends as lines or as a list of problems. A failure inside a parser that
nobody foresaw is reported as ``internal-error`` on that file (the fuzz tests make sure none is left), so one bad
file in a batch never hides the others.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from pipeline.ids import InvalidIdError, check_id, slugify
from pipeline.scripts import linesheet, manuscript, sounds, subtitles
from pipeline.scripts.decode import DecodeError, decode
from pipeline.scripts.formats import FORMATS
from pipeline.scripts.model import IngestResult, Line, RawLine, Report
from pipeline.scripts.segment import spoken_length
from pipeline.scripts.validate import check_timing, check_unique_ids, resolve_voice
from pipeline.settings import IngestSettings
from pipeline.text import lang as langs
from pipeline.text.markup import MarkupError, Utterance, parse, plain, render
from pipeline.text.normalize import normalize
from pipeline.text.style import parse_style


def supported_suffixes() -> list[str]:
    return sorted(FORMATS)


# Invisible or look-alike characters that break matching and normalizers: spaces of other widths become a
# space; zero-width characters, bidi marks and other controls (tab and newline aside) go.
_SPACE_LIKE = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffe]")


_RUN_OF_SPACES = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")


def _tidy(text: str) -> str:
    return _RUN_OF_SPACES.sub(" ", _INVISIBLE.sub("", _SPACE_LIKE.sub(" ", text)))


def _parse(
    data: bytes, suffix: str, report: Report, settings: IngestSettings, encoding: str | None, speakers: frozenset[str]
) -> tuple[list[RawLine], str | None]:
    if suffix == ".xlsx":
        return linesheet.parse_xlsx(data, report, settings), None
    try:
        decoded = decode(data, settings.fallback_encodings, encoding)
    except DecodeError as exc:
        report.error(exc.line, "encoding", str(exc))
        return [], None
    if decoded.guessed:
        report.warning(None, "encoding-guessed", f"not UTF-8: read as {decoded.encoding} (a guess; --encoding sets it)")
    text = _INVISIBLE.sub("", decoded.text)  # before any parser: no reader ever sees a control character
    if FORMATS[suffix].family == "subtitles":
        return subtitles.parse_subtitles(text, suffix, report, speakers, settings.sound_descriptions), decoded.encoding
    if suffix in (".csv", ".tsv"):
        raw = linesheet.parse_delimited(text, suffix, report, settings)
    elif suffix in (".json", ".jsonl"):
        raw = linesheet.parse_json(text, suffix, report, settings)
    else:
        return _clean(manuscript.parse_manuscript(text, suffix, report, settings), report, settings, prose=True), (
            decoded.encoding
        )
    return raw, decoded.encoding


def _clean(
    raw: list[RawLine], report: Report, settings: IngestSettings, *, prose: bool, speakers: frozenset[str] = frozenset()
) -> list[RawLine]:
    """Speaker labels (sheets), sound descriptions and stray brackets, as ``sounds`` decides; a line that was
    only a description is not a line."""
    out: list[RawLine] = []
    for item in raw:
        if not prose and item.speaker is None:
            item.speaker, item.text = sounds.leading_label(item.text, speakers)
        cleaned = sounds.clean(item.text, settings.sound_descriptions, prose=prose)
        for severity, code, message in cleaned.notes:
            report.add(severity, item.source_line, code, message)  # type: ignore[arg-type]
        if cleaned.notes and not cleaned.text.strip() and item.text.strip():
            continue
        item.text = cleaned.text
        out.append(item)
    return out


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _derived_id(speaker: str | None, canonical_text: str) -> str:
    digest = hashlib.sha256(f"{speaker or ''}\x1f{canonical_text}".encode()).hexdigest()
    return f"L{digest[:12]}"


def speech_of(
    utterance: Utterance, lang: str, spell_out: bool, failed: list[str] | None = None
) -> tuple[Utterance, str]:
    """What the engine is asked to say (normalized) and what the listener should hear (``spoken_text``)."""
    speech = normalize(utterance, lang, failed)
    return speech, plain(speech if spell_out else utterance)


def ingest_bytes(
    data: bytes,
    name: str,
    settings: IngestSettings,
    *,
    voice_map: Mapping[str, str | None] | None = None,
    script_id: str | None = None,
    encoding: str | None = None,
) -> IngestResult:
    """Ingest the bytes of a script file called ``name`` (its suffix picks the format)."""
    report = Report(name)
    suffix = Path(name).suffix.lower()
    sid = script_id or slugify(Path(name).stem)
    try:
        check_id(sid, "script_id")
    except InvalidIdError as exc:
        report.error(None, "bad-script-id", str(exc))
    result = _Result(name, sid, suffix, data)
    if suffix not in FORMATS:
        report.error(
            None, "format", f"unsupported format '{suffix or name}' (supported: {', '.join(supported_suffixes())})"
        )
        return result.build(report, [], None)
    if len(data) > settings.max_file_bytes:
        report.error(None, "too-large", f"file is {len(data)} bytes, over the limit of {settings.max_file_bytes}")
        return result.build(report, [], None)
    if not data.strip():
        report.error(None, "no-lines", "the file is empty")
        return result.build(report, [], None)
    speakers = frozenset(voice_map or ())
    try:
        raw, used_encoding = _parse(data, suffix, report, settings, encoding, speakers)
        if FORMATS[suffix].family == "linesheet":
            raw = _clean(raw, report, settings, prose=False, speakers=speakers)
        for item in raw:
            item.text = _tidy(item.text)
        if len(raw) > settings.max_lines:
            report.error(None, "too-many-lines", f"{len(raw)} lines, over the limit of {settings.max_lines}")
            return result.build(report, [], used_encoding)
        if not any(item.text.strip() for item in raw) and not report.has_errors:
            report.error(None, "no-lines", "nothing to speak: the file holds no line with text")
            return result.build(report, [], used_encoding)
        check_timing(raw, report, settings)
        lines = _build_lines(raw, sid, report, settings, voice_map, dubbing=FORMATS[suffix].kind == "dubbing")
    except Exception as exc:  # a bug of ours must not cost the other files of a batch
        report.error(None, "internal-error", f"dubflow failed to read this file ({type(exc).__name__}: {exc})")
        return result.build(report, [], None)
    return result.build(report, lines, used_encoding)


def ingest_file(path: str | Path, settings: IngestSettings, **kwargs: object) -> IngestResult:
    path = Path(path)

    def refused(code: str, message: str) -> IngestResult:
        report = Report(str(path))
        report.error(None, code, message)
        return _Result(str(path), slugify(path.stem), path.suffix.lower(), b"").build(report, [], None)

    if path.is_dir():
        return refused("unreadable", "is a folder, not a script file")
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:  # refuse before reading a huge file into memory
            return refused("too-large", f"file is {size} bytes, over the limit of {settings.max_file_bytes}")
        data = path.read_bytes()
    except OSError as exc:
        return refused("unreadable", f"cannot read file: {exc.strerror or exc}")
    return ingest_bytes(data, str(path), settings, **kwargs)  # type: ignore[arg-type]


def ingest_text(text: str, name: str, settings: IngestSettings, **kwargs: object) -> IngestResult:
    """Ingest script text held in memory (tests, the Airflow trigger form's pasted script)."""
    return ingest_bytes(text.encode("utf-8"), name, settings, **kwargs)  # type: ignore[arg-type]


class _Result:
    def __init__(self, name: str, script_id: str, suffix: str, data: bytes):
        self.name, self.script_id, self.suffix = name, script_id, suffix
        self.sha = hashlib.sha256(data).hexdigest()

    def build(self, report: Report, lines: list[Line], encoding: str | None) -> IngestResult:
        problems = sorted(report.summarized(), key=lambda p: (p.line or 0, p.severity != "error"))
        return IngestResult(
            script_id=self.script_id,
            source=self.name,
            source_sha256=self.sha,
            format=FORMATS[self.suffix].name if self.suffix in FORMATS else "unknown",
            encoding=encoding,
            lines=tuple(lines),
            problems=tuple(problems),
        )


def _check_speech_rate(item: RawLine, spoken: str, language: str, report: Report, settings: IngestSettings) -> None:
    """A timed line whose text needs more time than its slot even at the fastest speech accepted is a warning."""
    if item.start is None or item.end is None or item.end <= item.start:
        return
    rates = settings.max_chars_per_second
    rate = rates.get(language) or rates.get(langs.primary(language)) or rates.get("*")
    slot = item.end - item.start
    if rate and len(spoken) > rate * slot:
        needs = f"even at {rate:g} characters/s (time-fit included) it needs {len(spoken) / rate:.1f} s"
        report.warning(item.source_line, "too-fast", f"{len(spoken):,} characters in a {slot:.2f} s slot: {needs}")


def _build_lines(
    raw: list[RawLine],
    script_id: str,
    report: Report,
    settings: IngestSettings,
    voice_map: Mapping[str, str | None] | None,
    dubbing: bool = True,
) -> list[Line]:
    staged: list[tuple[RawLine, str, Utterance | None, str]] = []
    unmarked = [item.text for item in raw if not item.lang]
    detected = iter(langs.detect_lines(unmarked, settings.default_lang, settings.languages))
    for item in raw:
        guess = settings.default_lang if item.lang else next(detected)
        if not item.text.strip():
            report.error(item.source_line, "missing-text", "line has no text to speak")
        utterance: Utterance | None = None
        try:
            utterance = parse(item.text)
        except MarkupError as exc:
            for issue in exc.issues:
                report.error(item.source_line, "markup", f"text {issue}")
        canonical = " ".join((render(utterance) if utterance else item.text).split())
        try:
            language = langs.normalize_tag(item.lang) if item.lang else guess
        except ValueError as exc:
            report.error(item.source_line, "bad-lang", str(exc))
            language = guess
        staged.append((item, canonical, utterance, language))

    ids = _assign_ids(staged, report)
    check_unique_ids([(line_id, item.source_line) for (item, *_), line_id in zip(staged, ids, strict=True)], report)

    lines: list[Line] = []
    for index, ((item, canonical, utterance, language), line_id) in enumerate(zip(staged, ids, strict=True)):
        voice = resolve_voice(item, voice_map, report)
        if item.style:
            for warning in parse_style(item.style).warnings:
                if warning.startswith("contradictory") or warning.startswith("several"):
                    report.warning(item.source_line, "style", f"style '{item.style}': {warning}")
        if dubbing and (length := spoken_length(item.text)) > settings.max_line_chars:
            why = f"{length:,} characters to speak in one line (ingest.max_line_chars is {settings.max_line_chars:,})"
            report.error(item.source_line, "line-too-long", f"{why}; split it")
        spoken, speech = item.text, None
        if utterance is not None:
            failed: list[str] = []
            speech, spoken = speech_of(utterance, language, settings.normalize, failed)
            if failed:
                words = ", ".join(f"'{w}'" for w in dict.fromkeys(failed))
                report.warning(item.source_line, "normalize-failed", f"{words} not spelled out (kept as written)")
        _check_speech_rate(item, spoken, language, report, settings)
        lines.append(
            Line(
                script_id=script_id,
                line_id=line_id,
                index=index,
                source_line=item.source_line,
                text=item.text,
                spoken_text=spoken,
                text_hash=_sha256(canonical),
                lang=language,
                speaker=item.speaker,
                voice=voice,
                style=item.style,
                notes=item.notes,
                start=item.start,
                end=item.end,
                chapter=item.chapter,
                paragraph=item.paragraph,
                pause_after=item.pause_after,
                utterance=speech,
            )
        )
    return lines


def _assign_ids(staged: list[tuple[RawLine, str, Utterance | None, str]], report: Report) -> list[str]:
    ids: list[str] = []
    repeats: Counter[str] = Counter()
    for item, canonical, _, _ in staged:
        if item.line_id is not None:
            try:
                ids.append(check_id(item.line_id, "line_id"))
            except InvalidIdError as exc:
                report.error(item.source_line, "bad-line-id", str(exc))
                ids.append(_derived_id(item.speaker, canonical))
            continue
        derived = _derived_id(item.speaker, canonical)
        repeats[derived] += 1
        ids.append(derived if repeats[derived] == 1 else f"{derived}-{repeats[derived]}")
    return ids
