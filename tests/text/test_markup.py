from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text import arpabet, markup
from pipeline.text.markup import (
    Break,
    Event,
    MarkupError,
    Phonemes,
    Pinyin,
    Span,
    Text,
    Utterance,
    canonical,
    features,
    parse,
    plain,
    render,
)


def test_pinyin_override_initial_final_with_tone_mark() -> None:
    assert parse("她[h][ào]干净").segments == (Text("她"), Pinyin(("hao4",)), Text("干净"))


@pytest.mark.parametrize(
    ("source", "syllables"),
    [
        ("[hao4]", ("hao4",)),
        ("[j][ǐ]", ("ji3",)),
        ("[ài]", ("ai4",)),
        ("[lü4]", ("lv4",)),
        ("[de]", ("de5",)),
        ("[n][ǐ][h][ǎo]", ("ni3", "hao3")),
    ],
)
def test_pinyin_forms_map_to_tone_numbers(source: str, syllables: tuple[str, ...]) -> None:
    assert parse(source).segments == (Pinyin(syllables),)


def test_arpabet_word_and_separate_words() -> None:
    assert parse("[K][L][IY1][R]").segments == (Phonemes(("K", "L", "IY1", "R")),)
    assert parse("[HH][AH0] [L][OW1]").segments == (Phonemes(("HH", "AH0")), Text(" "), Phonemes(("L", "OW1")))


@pytest.mark.parametrize("source", ['<break time="500ms"/>', "<break time='0.5s' />", "[pause:0.5]", "[pause:500ms]"])
def test_break_forms(source: str) -> None:
    assert parse(source).segments == (Break(0.5),)


def test_events_spans_and_escapes() -> None:
    u = parse(r"[breath]<strong>go [sigh]</strong> \[lit\] a\<b")
    assert u.segments == (Event("breath"), Span("strong", (Text("go "), Event("sigh"))), Text(" [lit] a<b"))
    assert features(u) == {"event:breath", "event:sigh", "span:strong"}


def test_plain_shows_pronunciations_and_drops_tags() -> None:
    assert plain(parse("她[h][ào]干净 <break time='1s'/> [K][L][IY1][R]")) == "她hào干净 /K L IY1 R/"


def test_a_less_than_sign_in_prose_is_text() -> None:
    assert parse("3 < 4 and 价格<中等").segments == (Text("3 < 4 and 价格<中等"),)


@pytest.mark.parametrize(
    ("source", "column", "fragment"),
    [
        ("a [door slams] b", 3, "unknown tag [door slams]"),
        ("她[xyz4]", 2, "[xyz4] is neither"),
        ("[h] x", 1, "initial [h] has no final"),
        ("[AA5]", 1, "'AA5' is not an ARPAbet phoneme"),
        ("[B1]", 1, "consonant B takes no stress"),
        ("<strong>open", 1, "<strong> is never closed"),
        ("x</strong>", 2, "</strong> has no opening"),
        ("<strong><strong>a</strong></strong>", 9, "<strong> inside another <strong>"),
        ("<foo>", 1, "unknown tag <foo>"),
        ("<break/>", 1, "<break> needs a time"),
        ("[pause:11]", 1, "outside (0, 10]"),
        ("[pause:abc]", 1, "is not a duration"),
        ("a ] b", 3, "']' without a matching '['"),
        ("a [ b", 3, "'[' is never closed"),
        ("<strong>a<laughter>b</strong></laughter>", 21, "</strong> closes before the inner <laughter>"),
    ],
)
def test_malformed_markup_reports_position(source: str, column: int, fragment: str) -> None:
    with pytest.raises(MarkupError) as info:
        parse(source)
    assert any(issue.column == column and fragment in issue.message for issue in info.value.issues), info.value.issues


def test_every_problem_is_reported_not_just_the_first() -> None:
    with pytest.raises(MarkupError) as info:
        parse("[x1] [AA5] <foo> [pause:0]")
    assert [i.column for i in info.value.issues] == [1, 6, 12, 18]


# ------------------------------------------------------------------------------------------- properties

_syllables = st.sampled_from(["hao4", "ni3", "lv4", "ma5", "ai4", "zhuang1", "er2", "yi1", "wu3", "xue2"])
_phones = st.sampled_from(sorted(arpabet.CONSONANTS) + [v + s for v in sorted(arpabet.VOWELS) for s in "012"])
_leaf = st.one_of(
    st.text(min_size=1, max_size=12).map(Text),
    st.lists(_syllables, min_size=1, max_size=3).map(lambda s: Pinyin(tuple(s))),
    st.lists(_phones, min_size=1, max_size=4).map(lambda p: Phonemes(tuple(p))),
    st.integers(1, 10_000).map(lambda ms: Break(ms / 1000)),
    st.sampled_from(sorted(markup.EVENTS)).map(Event),
)
_segment = st.one_of(
    _leaf,
    st.builds(
        lambda kind, kids: Span(kind, tuple(kids)), st.sampled_from(sorted(markup.SPANS)), st.lists(_leaf, max_size=4)
    ),
)
_utterances = st.lists(_segment, max_size=8).map(lambda segs: Utterance(canonical(segs)))


@settings(max_examples=300, deadline=None)
@given(_utterances)
def test_parse_render_round_trip(utterance: Utterance) -> None:
    assert parse(render(utterance)) == utterance


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"ab 好<>[]/\\:.5hàoKIY1", "[h]", "[ào]", "<strong>", "</strong>", "[pause:0.5]", "[breath]"]),
        max_size=30,
    ).map("".join)
)
def test_render_of_any_parse_is_a_fixed_point(source: str) -> None:
    try:
        first = parse(source)
    except MarkupError:
        return
    assert parse(render(first)) == first
    assert render(parse(render(first))) == render(first)
