"""``configs/voices.yaml`` → a validated voice catalog.

Validation collects every problem (file, line in the YAML, reason) the way script ingestion does, and checks
the reference clips a cloning engine will be given: present, decodable, 3–30 s, mono or stereo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.engines.base import VoiceRef
from pipeline.ids import InvalidIdError, check_id
from pipeline.scripts.model import Problem, Report

CLONING_ENGINES = frozenset({"cosyvoice"})
MIN_REFERENCE_S, MAX_REFERENCE_S = 3.0, 30.0


class Voice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = ""
    engine: str
    languages: list[str] = Field(min_length=1)
    engine_voice: str | None = None
    speaker_id: int | None = None
    reference: str | None = None  # local path (relative to the catalog file) or s3:// URI
    reference_text: str | None = None
    reference_lang: str | None = None
    default_style: str | None = None
    fallback: bool = True  # may another engine speak this voice's lines when its engine cannot?
    description: str = ""

    def speaks(self, lang: str) -> bool:
        return lang in self.languages or lang.split("-", 1)[0] in self.languages

    def ref(self, reference_path: str | None = None) -> VoiceRef:
        return VoiceRef(
            id=self.id,
            engine_voice=self.engine_voice,
            reference_wav=reference_path,
            reference_text=self.reference_text,
            reference_lang=self.reference_lang or self.languages[0],
            speaker_id=self.speaker_id,
        )


class Project(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    speakers: dict[str, str] = Field(default_factory=dict)  # speaker name → voice id; "*" for the rest
    defaults: dict[str, str] = Field(default_factory=dict)  # language → voice id, for lines with no speaker voice


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voices: dict[str, Voice]
    projects: dict[str, Project] = Field(default_factory=dict)


@dataclass
class Catalog:
    path: Path
    voices: dict[str, Voice]
    projects: dict[str, Project]
    problems: list[Problem] = field(default_factory=list)

    def voice(self, voice_id: str) -> Voice:
        if voice_id not in self.voices:
            raise KeyError(f"unknown voice '{voice_id}' (catalog {self.path} has: {', '.join(sorted(self.voices))})")
        return self.voices[voice_id]

    def project(self, name: str) -> Project:
        return self.projects.get(name, Project())

    def voice_map(self, project: str) -> dict[str, str | None]:
        """Speaker → voice for ingestion's unknown-speaker check. With language defaults, lines without a mapped
        speaker are fine: ``*`` maps to None and the voice is chosen by language at synthesis."""
        mapping: dict[str, str | None] = dict(self.project(project).speakers)
        if self.project(project).defaults:
            mapping.setdefault("*", None)
        return mapping

    def voice_for_line(self, project: str, voice_id: str | None, lang: str) -> Voice:
        """The line's voice if it speaks the line's language, else the project's default for that language.

        A voice id that is not in the catalog is an error, never silently replaced by a default voice."""
        if voice_id and voice_id not in self.voices:
            raise KeyError(f"voice '{voice_id}' is not in the voice catalog {self.path}")
        if voice_id and self.voices[voice_id].speaks(lang):
            return self.voices[voice_id]
        defaults = self.project(project).defaults
        chosen = defaults.get(lang) or defaults.get(lang.split("-", 1)[0])
        if chosen is None:
            named = f"voice '{voice_id}' does not speak '{lang}' and " if voice_id else ""
            raise KeyError(f"{named}project '{project}' has no default voice for '{lang}'")
        return self.voice(chosen)

    def cast(self, project: str) -> list[str]:
        """The voices a project's lines can be given: its speakers' and its language defaults', each once."""
        chosen = self.project(project)
        return sorted({*chosen.speakers.values(), *chosen.defaults.values()} & self.voices.keys())

    def cast_and_recordings(self, project: str) -> list[str]:
        """What a demo enrolls: the project's cast, and every voice with a recording (cheap to enroll, and the
        only human voices there are)."""
        return sorted({*self.cast(project), *(v.id for v in self.voices.values() if v.reference)})

    def reference_path(self, voice: Voice) -> Path | None:
        if voice.reference is None or voice.reference.startswith("s3://"):
            return None
        path = Path(voice.reference)
        return path if path.is_absolute() else (self.path.parent / path).resolve()


def _line_of(text: str, key: str, section: str = "voices") -> int | None:
    """Best-effort YAML line of ``key:`` under ``section:`` for problem messages."""
    in_section = False
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(f"{section}:"):
            in_section = True
        elif line and not line[0].isspace():
            in_section = False
        elif in_section and line.strip().startswith(f"{key}:"):
            return number
    return None


def load_catalog(path: str | Path, check_references: bool = True) -> Catalog:
    path = Path(path)
    report = Report(str(path))
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        report.error(None, "unreadable", f"cannot read voice catalog: {exc.strerror or exc}")
        return Catalog(path, {}, {}, report.problems)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        report.error(mark.line + 1 if mark else None, "bad-yaml", f"invalid YAML: {getattr(exc, 'problem', exc)}")
        return Catalog(path, {}, {}, report.problems)
    try:
        parsed = _CatalogFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            line = _line_of(text, loc[1], loc[0]) if len(loc) > 1 else None
            report.error(line, "bad-voice", f"{'.'.join(loc)}: {err['msg']}")
        return Catalog(path, {}, {}, report.problems)
    voices = {vid: v.model_copy(update={"id": vid}) for vid, v in parsed.voices.items()}
    catalog = Catalog(path, voices, parsed.projects)
    for vid, voice in voices.items():
        _check_voice(catalog, voice, _line_of(text, vid), report, check_references)
    for name, project in parsed.projects.items():
        line = _line_of(text, name, "projects")
        for where, mapping in (("speakers", project.speakers), ("defaults", project.defaults)):
            for key, vid in mapping.items():
                if vid not in voices:
                    report.error(line, "unknown-voice", f"projects.{name}.{where}.{key}: unknown voice '{vid}'")
    catalog.problems = report.problems
    return catalog


def _check_voice(catalog: Catalog, voice: Voice, line: int | None, report: Report, check_references: bool) -> None:
    try:
        check_id(voice.id, "voice id")
    except InvalidIdError as exc:
        report.error(line, "bad-voice-id", str(exc))
    if voice.engine in CLONING_ENGINES and not voice.reference:
        # No reference_text is no problem: enrolling the voice transcribes its clip with Whisper, and the review
        # page and `dubflow voices transcript` let a person confirm it.
        by_hand = "give reference: here, or enroll one: dubflow voices enroll ID --clip FILE"
        clones = f"voice '{voice.id}': {voice.engine} clones from a reference clip ({by_hand})"
        report.warning(line, "no-reference", clones)
    if not voice.reference or not check_references:
        return
    path = catalog.reference_path(voice)
    if path is None:
        why = "s3:// references are fetched and checked by the worker that uses them"
        report.warning(line, "reference-not-checked", f"voice '{voice.id}': {voice.reference} not checked here ({why})")
        return
    problem = check_reference_clip(path)
    if problem:
        report.error(line, "bad-reference", f"voice '{voice.id}': {problem}")


def check_reference_clip(path: Path) -> str | None:
    """Why a reference clip is unusable for cloning, or None."""
    if not path.is_file():
        return f"reference clip {path} does not exist"
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        return f"reference clip {path} does not decode: {exc}"
    if info.channels > 2:
        return f"reference clip {path} has {info.channels} channels (mono or stereo expected)"
    if not MIN_REFERENCE_S <= info.duration <= MAX_REFERENCE_S:
        return f"reference clip {path} is {info.duration:.1f} s (needs {MIN_REFERENCE_S:g}-{MAX_REFERENCE_S:g} s)"
    return None
