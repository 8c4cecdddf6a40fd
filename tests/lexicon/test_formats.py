"""Lexicon files as studios exchange them (W3C PLS) and as people write them (YAML): entries, and every problem with
its file and line."""

from __future__ import annotations

import pytest

from pipeline.lexicon.load import LexiconError, build, read_file
from tests.conftest import FIXTURES

LEXICONS = FIXTURES / "lexicons"


def _read(name: str) -> tuple[list, list]:
    return read_file(name, (LEXICONS / name).read_bytes())


def test_a_vendor_pls_gives_one_entry_per_spelling_with_its_preferred_pronunciation() -> None:
    entries, problems = _read("studio_en.pls")
    assert problems == []
    shown = {e.grapheme: (e.kind, e.value, e.lang, e.source) for e in entries}
    assert shown["Siobhan"] == ("arpabet", ("SH", "IH0", "V", "AO1", "N"), "en", "studio_en.pls:10")
    assert shown["Siobhán"][1] == shown["Siobhan"][1]  # the lexeme's second grapheme
    assert shown["SQL"][:2] == ("alias", ("sequel",))
    assert shown["Nguyen"][:2] == ("arpabet", ("N", "W", "IH1", "N"))  # the first <phoneme>, in its own alphabet


def test_a_dictionary_exported_with_cmu_arpabet_and_escaped_graphemes_reads_as_written() -> None:
    """The shape ElevenLabs' pronunciation dictionaries are exported in: alphabet "cmu-arpabet", tabs, an escaped
    ampersand in a grapheme, an IPA phoneme with a syllable dot under its own alphabet attribute."""
    entries, problems = _read("elevenlabs_export.pls")
    assert problems == []
    assert [(e.grapheme, e.kind, e.value) for e in entries] == [
        ("Para & Code", "alias", ("Para and Code",)),
        ("tomato", "arpabet", ("T", "AH0", "M", "EY1", "T", "OW2")),
        ("Acme", "arpabet", ("AE1", "K", "M", "IY0")),
    ]


def test_a_pinyin_pls_is_mandarin_in_canonical_syllables() -> None:
    entries, problems = _read("studio_zh.pls")
    assert problems == [] and [(e.grapheme, e.value, e.lang) for e in entries] == [
        ("西安", ("xi1", "an1"), "zh"),
        ("长长", ("chang2", "chang2"), "zh"),
    ]


def test_a_doctype_with_entities_is_refused_before_anything_expands() -> None:
    entries, problems = _read("entity_bomb.pls")
    assert entries == [] and [(p.line, p.code) for p in problems] == [(2, "lexicon-pls")]
    assert "DOCTYPE" in problems[0].message


@pytest.mark.parametrize(
    ("data", "line", "code"),
    [
        (b"<lexicon><lexeme><grapheme>SQL</grapheme>\n</lexicon>", 2, "lexicon-xml"),
        (b"<speak/>", 1, "lexicon-pls"),
        (b"<lexicon alphabet='x-sampa'><lexeme><grapheme>a</grapheme><phoneme>a</phoneme></lexeme></lexicon>", 1,
         "lexicon-bad-alphabet"),
        (b"<lexicon>\n<lexeme><phoneme>a</phoneme></lexeme></lexicon>", 2, "lexicon-empty-word"),
        (b"<lexicon>\n\n<lexeme><grapheme>a</grapheme></lexeme></lexicon>", 3, "lexicon-empty-pronunciation"),
    ],
)  # fmt: skip
def test_broken_pls_files_name_the_line(data: bytes, line: int, code: str) -> None:
    entries, problems = read_file("x.pls", data)
    assert entries == [] and [(p.line, p.code) for p in problems] == [(line, code)], problems


def test_every_problem_of_a_yaml_lexicon_is_listed_with_its_line() -> None:
    entries, problems = _read("broken.yaml")
    assert [e.grapheme for e in entries] == ["SQL"]
    assert [(p.line, p.code) for p in problems] == [
        (9, "lexicon-unknown-key"),  # a top-level key that is not lang/words
        (4, "lexicon-bad-arpabet"),
        (5, "lexicon-bad-ipa"),
        (6, "lexicon-shape"),  # alias and pinyin at once
        (7, "lexicon-bad-pinyin"),
        (8, "lexicon-bad-lang"),
    ], [str(p) for p in problems]
    assert "IH9" in problems[1].message and "'ʁ'" in problems[2].message
    assert str(problems[1]).startswith("broken.yaml:4: error:")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"words: [SQL]\n", "lexicon-shape"),
        (b"- a\n", "lexicon-shape"),
        (b"words:\n  SQL: [sequel\n", "lexicon-yaml"),
        (b"\xff\xfe\x00", "lexicon-encoding"),
    ],
)
def test_yaml_that_is_not_a_lexicon_is_one_clear_problem(data: bytes, code: str) -> None:
    assert [p.code for p in read_file("x.yaml", data)[1]] == [code]


def test_a_word_given_twice_differently_names_both_places_and_nothing_is_half_loaded() -> None:
    with pytest.raises(LexiconError) as raised:
        build([("a.yaml", b"words:\n  SQL: sequel\n"), ("b.pls", (LEXICONS / "studio_en.pls").read_bytes()),
               ("c.yaml", b"words:\n\n  sql: seekwel\n")])  # fmt: skip
    (problem,) = raised.value.problems
    assert (problem.file, problem.line, problem.code) == ("c.yaml", 3, "lexicon-duplicate")
    assert "also given at a.yaml:2" in problem.message
    same = build([("a.yaml", b"words:\n  SQL: sequel\n"), ("b.yaml", b"words:\n  SQL: sequel\n")])
    assert len(same.entries) == 1  # the same pronunciation twice is no conflict


def test_other_files_and_oversized_ones_are_refused() -> None:
    assert [p.code for p in read_file("x.txt", b"SQL sequel")[1]] == ["lexicon-format"]
    assert [p.code for p in read_file("x.yaml", b"#" * 2_000_001)[1]] == ["lexicon-too-large"]
