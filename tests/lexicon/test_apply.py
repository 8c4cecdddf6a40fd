"""Applying a lexicon to a line: word boundaries, case, CJK without spaces, the script's own markup left alone, and
on any text the result is markup dubflow can read back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.lexicon.lines import with_lexicon
from pipeline.lexicon.load import build
from pipeline.scripts.ingest import ingest_bytes
from pipeline.settings import Settings
from pipeline.text.markup import parse, render

LEXICON = build(
    [
        ("en.yaml", b"lang: en\nwords:\n  SQL: sequel\n  Nguyen: {arpabet: N W IH1 N}\n  NASA: {alias: nasa, "
                    b"match_case: true}\n  New York: {alias: Noo York}\n"),
        ("zh.yaml", "words:\n  西安: {pinyin: xi1 an1}\n  长长: {pinyin: chang2 chang2}\n".encode()),
    ]
)  # fmt: skip


def _said(text: str, lang: str = "en") -> tuple[str, list[str]]:
    utterance, used = LEXICON.apply(parse(text), lang)
    return render(utterance), [e.grapheme for e in used]


def test_latin_words_match_whole_words_in_any_case_unless_the_entry_keeps_case() -> None:
    assert _said("SQL, sql and Sql; not SQLite or MySQL.") == (
        "sequel, sequel and sequel; not SQLite or MySQL.",
        ["SQL"],
    )
    assert _said("NASA, not Nasa.") == ("nasa, not Nasa.", ["NASA"])
    assert _said("Nguyen's team") == ("[N][W][IH1][N]'s team", ["Nguyen"])


def test_the_longest_word_wins_and_cjk_matches_without_spaces() -> None:
    assert _said("New York, New Yorkers.")[0] == "Noo York, New Yorkers."
    assert _said("我们去西安吧，一条长长的路。", "zh") == (
        "我们去[xi1][an1]吧，一条[chang2][chang2]的路。",
        ["西安", "长长"],
    )


def test_entries_apply_in_their_language_only_and_never_inside_the_scripts_markup() -> None:
    assert _said("西安", "en") == ("西安", [])  # the pinyin entry is Mandarin
    assert _said("SQL", "zh")[1] == []  # the file says lang: en
    assert _said("<strong>SQL</strong> [S][K][W][IY1][L]") == ("<strong>sequel</strong> [S][K][W][IY1][L]", ["SQL"])


def test_lines_carry_what_they_used_and_hear_the_new_words() -> None:
    data = b"line_id,text\na-1,The SQL server has 3 disks.\na-2,Nothing here.\n"
    lines = ingest_bytes(data, "sheet.csv", Settings().ingest).lines
    touched, untouched = with_lexicon(lines, LEXICON)
    assert touched.lexicon == ("SQL → sequel",) and touched.spoken_text == "The sequel server has three disks."
    assert touched.text == lines[0].text  # the script's own words are kept for editors
    assert untouched is lines[1]


_WORDS = st.sampled_from(["SQL", "sql", "Nguyen", "NASA", "New", "York", "西安", "长长", "x", "", " ", "  "])
_TEXT = st.lists(st.one_of(_WORDS, st.text(max_size=6)), max_size=12).map(" ".join)


@given(_TEXT, st.sampled_from(["en", "zh", "ja"]))
def test_on_any_text_the_result_is_markup_that_reads_back_the_same(text: str, lang: str) -> None:
    try:
        utterance = parse(text)
    except ValueError:  # not markup to begin with: ingest reports it before any lexicon
        return
    applied, used = LEXICON.apply(utterance, lang)
    assert parse(render(applied)) == applied  # the canonical form round-trips
    assert bool(used) == (applied != utterance)  # an entry used always changes what is said, and only then
