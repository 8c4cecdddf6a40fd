"""No line id can take the key of a file the delivery writes, ids are matched whole, and they are shown escaped."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from pipeline import ids
from pipeline.ids import InvalidIdError
from pipeline.scripts.ingest import ingest_text
from pipeline.storage import keys
from pipeline.storage.publish import Delivery, DeliveryFile, DeliveryLine, publish, read_manifest
from pipeline.storage.store import ObjectStore

# Every name the delivery writes besides line clips (pipeline/deliver.py), as a line id would spell it.
DELIVERY_NAMES = ["stem", "stems", "subtitles", "chapters", "01-chapter-one", "ch01-intro", "report", "manifest",
                  "qa", "en", "dialogue", "claim"]  # fmt: skip


def _wav(path: Path, seconds: float = 0.3) -> Path:
    sf.write(path, 0.1 * np.sin(np.arange(int(16000 * seconds)) / 7), 16000, subtype="PCM_16")
    return path


def test_lines_named_like_every_delivery_file_publish_beside_them(store: ObjectStore, tmp_path: Path) -> None:
    lines = [DeliveryLine(line_id=name, lang="en", path=_wav(tmp_path / f"{name}.wav")) for name in DELIVERY_NAMES]
    extras = []
    for n, name in enumerate(("stems/en.wav", "subtitles/en.srt", "subtitles/en.vtt", "chapters/en/01-chapter-one.wav",
                              "qa/report.html", "qa/report.json")):  # fmt: skip
        path = tmp_path / f"extra-{n}"
        path.write_bytes(f"{name}: the file the delivery writes".encode())
        extras.append(DeliveryFile(name, path))
    result = publish(store, Delivery("acme", "ep01", lines, "run-1", extras))
    manifest = read_manifest(store, "acme", "ep01", result.version)
    keys_written = [entry["key"] for entry in manifest["lines"] + manifest["files"]]
    assert len(set(keys_written)) == len(lines) + len(extras)  # every one has its own key
    assert result.uploaded == len(lines) + len(extras)


@given(line=st.from_regex(ids.ID_PATTERN, fullmatch=True), lang=st.from_regex(ids.LANG_PATTERN, fullmatch=True),
       ext=st.sampled_from(sorted(keys.AUDIO_EXTENSIONS)),
       name=st.from_regex(keys._EXTRA, fullmatch=True))  # fmt: skip
def test_no_line_clip_key_is_ever_a_delivery_file_key(line: str, lang: str, ext: str, name: str) -> None:
    try:
        clip = keys.asset_key("p", "s", 1, lang, line, ext)
    except InvalidIdError:
        assert ".." in line or lang in ids.RESERVED_LANGS
        return
    try:
        extra = keys.extra_key("p", "s", 1, name)
    except InvalidIdError:
        assert ".." in name
        return
    assert clip != extra
    assert clip.split("/")[3] not in keys.DELIVERY_FOLDERS


def test_a_language_tag_that_names_a_delivery_folder_is_refused_at_ingest(ingest_settings) -> None:
    result = ingest_text("text,lang\nHello.,qa\n", "s.csv", ingest_settings)
    assert [(p.line, p.code) for p in result.errors] == [(2, "bad-lang")]


@pytest.mark.parametrize("value", ["abc\n", "abc\r", "abc\x00", "\nabc", "abc\n\n", "a" * 64 + "\n"])
def test_ids_are_matched_whole_so_a_trailing_newline_is_refused(value: str) -> None:
    with pytest.raises(InvalidIdError):
        ids.check_id(value, "script_id")
    with pytest.raises(InvalidIdError):
        keys.project_id(value)


def test_ids_in_messages_are_escaped(ingest_settings) -> None:
    hostile = "evil\x1b[2J\x1b[31mred\x07"
    with pytest.raises(InvalidIdError) as info:
        ids.check_id(hostile, "line_id")
    assert "\x1b" not in str(info.value) and "\\x1b[2J" in str(info.value)
    result = ingest_text(f"line_id,text\n{hostile},Hi.\n", "s.csv", ingest_settings)
    assert all("\x1b" not in p.message and "\x07" not in p.message for p in result.problems)
    assert any(p.code == "bad-line-id" for p in result.errors)


def test_every_key_pattern_is_anchored_at_both_ends() -> None:
    """A regex matched with ``match`` and ``$`` lets "abc\\n" through; every id check must use fullmatch."""
    for source in (Path(ids.__file__), Path(keys.__file__)):
        text = source.read_text()
        assert not re.search(r"\.match\((?!.*fullmatch)", text.replace("fullmatch", "FULL")), source
