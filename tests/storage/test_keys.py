"""No id a script can carry may produce a key outside its prefix."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import ids
from pipeline.ids import InvalidIdError
from pipeline.storage import keys

HOSTILE = [
    "../x",
    "a/b",
    "..",
    "x/../../y",
    "a\\b",
    "tab\there",
    "nul\x00",
    "new\nline",
    "ünïcødé",
    "名字",
    "x" * 1024,
    "",
    " ",
    ".hidden",
    "-dash",
    "a..b",
    "%2e%2e",
]


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_ids_are_rejected_by_every_key_builder(bad: str) -> None:
    builders = [
        lambda: keys.asset_key(bad, "s", 1, "en", "l1", "wav"),
        lambda: keys.asset_key("p", bad, 1, "en", "l1", "wav"),
        lambda: keys.asset_key("p", "s", 1, bad, "l1", "wav"),
        lambda: keys.asset_key("p", "s", 1, "en", bad, "wav"),
        lambda: keys.manifest_key(bad, "s", 1),
        lambda: keys.catalog_key(date(2026, 1, 1), "p", bad, 1),
        lambda: keys.extra_key("p", "s", 1, bad),
        lambda: keys.cache_key(bad),
    ]
    for build in builders:
        with pytest.raises(InvalidIdError):
            build()


def test_layout() -> None:
    assert keys.asset_key("acme", "ep01", 3, "zh", "zh-001", "wav") == "acme/ep01/v3/zh/zh-001.wav"
    assert keys.manifest_key("acme", "ep01", 3) == "acme/ep01/v3/manifest.json"
    assert keys.extra_key("acme", "ep01", 3, keys.QA_REPORT_NAME) == "acme/ep01/v3/qa/report.html"
    digest = "ab" + "0" * 62
    assert keys.cache_key(digest) == f"cache/ab/{digest}.wav"
    assert (
        keys.catalog_key(date(2026, 11, 23), "acme", "ep01", 3)
        == "catalog/date=2026-11-23/project=acme/ep01-v3.parquet"
    )
    assert keys.parse_version_dir("v12/") == 12
    assert keys.parse_version_dir("v0/") is None
    assert keys.parse_version_dir("v1x/") is None


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2", 1_000_000])
def test_bad_versions(bad: object) -> None:
    with pytest.raises(InvalidIdError):
        keys.version_prefix("p", "s", bad)  # type: ignore[arg-type]


def test_bad_extensions_and_extra_names() -> None:
    with pytest.raises(InvalidIdError, match="extension"):
        keys.asset_key("p", "s", 1, "en", "l1", "exe")
    for name in [
        "manifest.json",
        "qa/../x.html",
        "/abs.wav",
        "a/b/c.wav",
        "noext",
        "qa/report.html/",
        "en/stem.wav",
        "stems/en.wav\n",
        ".claim.json",
    ]:
        with pytest.raises(InvalidIdError):
            keys.extra_key("p", "s", 1, name)


def test_catalog_and_voices_prefixes_are_not_projects() -> None:
    with pytest.raises(InvalidIdError, match="reserved"):
        keys.asset_key("catalog", "s", 1, "en", "l1", "wav")
    with pytest.raises(InvalidIdError, match="'voices/' the enrolled voices"):
        keys.inbox_key("voices", date(2026, 1, 2), "ep.srt")


@given(st.sampled_from(HOSTILE))
def test_a_voice_id_cannot_leave_its_prefix(voice: str) -> None:
    with pytest.raises(InvalidIdError):
        keys.enrollment_key(voice)
    with pytest.raises(InvalidIdError):
        keys.voice_clip_key(voice, "0" * 64)


def test_enrolled_clips_are_addressed_by_content() -> None:
    assert keys.voice_clip_key("lin", "ab" * 32) == "voices/lin/reference-abababababababab.wav"
    assert keys.enrollment_key("lin") == "voices/lin/enrollment.json"
    with pytest.raises(InvalidIdError):
        keys.voice_clip_key("lin", "../x")


def test_inbox_names_are_slugified_inside_their_prefix() -> None:
    assert (
        keys.inbox_key("acme", date(2026, 1, 2), "../../etc/Episode 01 (FINAL).SRT")
        == "acme/2026-01-02/etc-episode-01-final.srt"
    )
    assert keys.inbox_key("acme", date(2026, 1, 2), "剧本.csv") == "acme/2026-01-02/ju-ben.csv"
    with pytest.raises(InvalidIdError, match="not a script file"):
        keys.inbox_key("acme", date(2026, 1, 2), "payload.sh")


_IDS = st.one_of(st.from_regex(ids._ID, fullmatch=True), st.text(max_size=80))
_LANGS = st.one_of(st.from_regex(ids.LANG_PATTERN, fullmatch=True), st.text(max_size=12))


@given(project=_IDS, script=_IDS, line=_IDS, lang=_LANGS)
def test_any_accepted_id_stays_inside_its_prefix(project: str, script: str, line: str, lang: str) -> None:
    try:
        key = keys.asset_key(project, script, 7, lang, line, "wav")
    except InvalidIdError:
        assert (
            not all(map(_valid, (project, script, line)))
            or not re.fullmatch(ids.LANG_PATTERN, lang)
            or lang in ids.RESERVED_LANGS
            or project.lower() == "catalog"
        )
        return
    parts = key.split("/")
    assert parts[:3] == [project, script, "v7"] and len(parts) == 5
    assert all(part and part not in (".", "..") and part.isprintable() and part.isascii() for part in parts)
    assert len(key) <= 64 * 3 + 40


def _valid(value: str) -> bool:
    try:
        ids.check_id(value)
    except InvalidIdError:
        return False
    return True


def test_the_inbox_takes_every_suffix_ingest_reads_and_nothing_else() -> None:
    from pipeline.scripts.formats import FORMATS
    from pipeline.scripts.ingest import supported_suffixes

    assert sorted(FORMATS) == supported_suffixes()
    for suffix in FORMATS:  # .markdown was refused once: the inbox had its own list
        assert keys.inbox_key("p", date(2026, 1, 2), f"Episode 1{suffix.upper()}").endswith(suffix)
    with pytest.raises(InvalidIdError, match="not a script file"):
        keys.inbox_key("p", date(2026, 1, 2), "notes.docx")
