"""The object key layout. Every key dubflow writes is built here, from checked ids only.

A script cannot choose a key: ids go through :func:`pipeline.ids.check_id`, languages and extensions through
allow-lists, so no value can contain ``/``, ``..`` or control characters and escape its prefix.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

from pipeline.ids import ID_PATTERN, InvalidIdError, check_id, check_lang, shown, slugify
from pipeline.scripts.formats import suffixes

# Top-level prefixes that are not projects: the asset catalog (assets bucket), enrolled voices (inbox bucket).
CATALOG_PREFIX = "catalog/"
VOICES_PREFIX = "voices/"
RESERVED_PROJECTS = frozenset({"catalog", "voices"})

AUDIO_EXTENSIONS = frozenset({"wav", "flac", "mp3"})
SCRIPT_SUFFIXES = suffixes()  # every format ingest reads
INBOX_KEY_PATTERN = rf"({ID_PATTERN})/\d{{4}}-\d{{2}}-\d{{2}}/[a-z0-9][a-z0-9._-]{{0,80}}"  # what inbox_key makes
_SHA256 = re.compile(r"[0-9a-f]{64}")
# A version's other delivery files (stems, subtitles, chapters, the QA report) live in folders named for their kind,
# which no language tag can name (``ids.RESERVED_LANGS``; the others are longer than a tag): a line clip
# (``{lang}/{line_id}.{ext}``) can never take a delivery file's key, whatever its id.
DELIVERY_FOLDERS = ("stems", "subtitles", "chapters", "qa")
_EXTRA = re.compile(
    rf"(?:{'|'.join(DELIVERY_FOLDERS)})/(?:[a-z0-9][a-z0-9_-]{{0,31}}/)?[A-Za-z0-9][A-Za-z0-9._-]{{0,62}}\.[a-z0-9]{{2,7}}"
)


def project_id(value: str) -> str:
    check_id(value, "project")
    if value.lower() in RESERVED_PROJECTS:
        where = f"'{CATALOG_PREFIX}' holds the asset catalog, '{VOICES_PREFIX}' the enrolled voices"
        raise InvalidIdError(f"project {shown(value)} is a reserved name ({where})")
    return value


def version_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 1_000_000:
        raise InvalidIdError(f"version {shown(value)} must be a whole number from 1")
    return value


def content_hash(value: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise InvalidIdError(f"cache key {shown(value)} is not a sha256 hex digest")
    return value


def script_prefix(project: str, script_id: str) -> str:
    return f"{project_id(project)}/{check_id(script_id, 'script id')}/"


def version_prefix(project: str, script_id: str, version: int) -> str:
    return f"{script_prefix(project, script_id)}v{version_id(version)}/"


def asset_key(project: str, script_id: str, version: int, lang: str, line_id: str, ext: str) -> str:
    """``{project}/{script_id}/v{version}/{lang}/{line_id}.{ext}`` in the assets bucket."""
    _audio(ext)
    return f"{version_prefix(project, script_id, version)}{check_lang(lang)}/{check_id(line_id, 'line id')}.{ext}"


def extra_key(project: str, script_id: str, version: int, name: str) -> str:
    """A version's other delivery files: ``…/v{version}/{name}``, e.g. ``qa/report.html`` or ``stems/zh.wav``."""
    if not isinstance(name, str) or ".." in name or not _EXTRA.fullmatch(name):
        raise InvalidIdError(f"delivery file name {shown(name)} is not a name like 'qa/report.html' or 'stems/en.wav'")
    return f"{version_prefix(project, script_id, version)}{name}"


MANIFEST_NAME = "manifest.json"
CLAIM_NAME = ".claim.json"  # a leading dot: no delivery file name or line id can be it
QA_REPORT_NAME = "qa/report.html"


def manifest_key(project: str, script_id: str, version: int) -> str:
    return f"{version_prefix(project, script_id, version)}{MANIFEST_NAME}"


def claim_key(project: str, script_id: str, version: int) -> str:
    """The create-only object that reserves a version number for one content (see ``publish``)."""
    return f"{version_prefix(project, script_id, version)}{CLAIM_NAME}"


def _hashed(folder: str, digest: str, suffix: str) -> str:
    return f"{folder}/{content_hash(digest)[:2]}/{digest}{suffix}"


def cache_key(digest: str) -> str:
    """``cache/{hash[:2]}/{hash}.wav`` in the staging bucket: a synthesized clip, addressed by its inputs."""
    return _hashed("cache", digest, ".wav")


def post_key(digest: str, ext: str) -> str:
    """``post/{hash[:2]}/{hash}.{ext}`` in the staging bucket: a post-processed clip, addressed by its inputs."""
    return _hashed("post", digest, f".{_audio(ext)}")


def qa_result_key(digest: str) -> str:
    """``post/{hash[:2]}/{hash}.qa.json`` in the staging bucket: one line's QA result, addressed by its inputs."""
    return _hashed("post", digest, ".qa.json")


def report_media_key(digest: str) -> str:
    """``post/{hash[:2]}/{hash}.media.json`` in the staging bucket: a line's QA-report plot and player."""
    return _hashed("post", digest, ".media.json")


def prompt_key(digest: str) -> str:
    """``prompts/{hash[:2]}/{hash}.pt`` in the staging bucket: an engine's extracted speaker prompt."""
    return _hashed("prompts", digest, ".pt")


def _audio(ext: str) -> str:
    if ext not in AUDIO_EXTENSIONS:
        raise InvalidIdError(f"audio extension {shown(ext)} is not one of {sorted(AUDIO_EXTENSIONS)}")
    return ext


def progress_prefix(run_id: str) -> str:
    """``progress/{sha256(run_id)[:24]}/`` in the staging bucket: a run's progress objects (any run id is safe)."""
    return f"progress/{hashlib.sha256(run_id.encode()).hexdigest()[:24]}/"


def progress_key(run_id: str, script: str) -> str:
    """``progress/{run}/{slug(script)}-{sha256(script)[:8]}.json``: one script's progress in one run."""
    return f"{progress_prefix(run_id)}{slugify(script)[:60]}-{hashlib.sha256(script.encode()).hexdigest()[:8]}.json"


def lock_key(project: str, script_id: str) -> str:
    """``locks/{project}/{script_id}.json`` in the staging bucket: who is voicing the script now."""
    return f"locks/{project_id(project)}/{check_id(script_id, 'script id')}.json"


def inbox_key(project: str, day: date, filename: str) -> str:
    """``{project}/{YYYY-MM-DD}/{slug}{suffix}`` in the inbox bucket; the name is slugified, the suffix checked."""
    stem, dot, suffix = filename.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in SCRIPT_SUFFIXES:
        raise InvalidIdError(f"{shown(filename)} is not a script file (expected one of {sorted(SCRIPT_SUFFIXES)})")
    return f"{project_id(project)}/{day.isoformat()}/{slugify(stem or filename)}{suffix}"


LEXICON_SUFFIXES = (".pls", ".yaml", ".yml")


def lexicon_prefix(project: str) -> str:
    """``{project}/lexicon/`` in the inbox bucket: the project's pronunciation lexicon files (.pls, .yaml)."""
    return f"{project_id(project)}/lexicon/"


def lexicon_key(project: str, filename: str) -> str:
    """``{project}/lexicon/{slug}{suffix}``: the name is slugified, the suffix checked, as for scripts."""
    stem, dot, suffix = filename.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in LEXICON_SUFFIXES:
        raise InvalidIdError(f"{shown(filename)} is not a lexicon file (expected one of {list(LEXICON_SUFFIXES)})")
    return f"{lexicon_prefix(project)}{slugify(stem or filename)}{suffix}"


def voice_prefix(voice_id: str) -> str:
    """``voices/{voice_id}/`` in the inbox bucket: a voice's enrolled reference clips and its enrollment record."""
    return f"{VOICES_PREFIX}{check_id(voice_id, 'voice id')}/"


def voice_clip_key(voice_id: str, digest: str) -> str:
    """``voices/{voice_id}/reference-{sha256[:16]}.wav``: addressed by content, so re-enrolling never overwrites
    the clip a running job may still be reading."""
    return f"{voice_prefix(voice_id)}reference-{content_hash(digest)[:16]}.wav"


def enrollment_key(voice_id: str) -> str:
    """``voices/{voice_id}/enrollment.json``: the record naming the clip in use, its transcript and its checks."""
    return f"{voice_prefix(voice_id)}enrollment.json"


def catalog_key(day: date, project: str, script_id: str, version: int) -> str:
    """One Parquet part per published version, hive-partitioned so any Parquet reader can prune by date/project."""
    return (
        f"{CATALOG_PREFIX}date={day.isoformat()}/project={project_id(project)}/"
        f"{check_id(script_id, 'script id')}-v{version_id(version)}.parquet"
    )


_VERSION_DIR = re.compile(r"v([1-9][0-9]{0,5})/")


def parse_version_dir(name: str) -> int | None:
    """``v12/`` → 12; anything else → None (listing a script prefix returns its version directories)."""
    match = _VERSION_DIR.fullmatch(name)
    return int(match.group(1)) if match else None
