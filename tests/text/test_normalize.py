from pipeline.text.markup import Pinyin, parse, render
from pipeline.text.normalize import normalize, normalize_text


def test_mandarin_numbers_dates_currency() -> None:
    spoken = normalize_text("2024年3月5日，票价12.5元，增长35%", "zh")
    assert "二零二四年三月五日" in spoken and "十二点五元" in spoken and "百分之三十五" in spoken
    assert not any(ch.isdigit() for ch in spoken)


def test_english_numbers_and_currency() -> None:
    spoken = normalize_text("It costs $5 and 25% more in 1999.", "en-us")
    assert "five dollars" in spoken and "twenty five percent" in spoken and "nineteen ninety nine" in spoken


def test_overrides_and_breaks_are_untouched_and_spacing_kept() -> None:
    utterance = normalize(parse("第1名[h][ào] <break time='1s'/> 共3个"), "zh")
    assert Pinyin(("hao4",)) in utterance.segments
    assert render(utterance) == "第一名[hao4] [pause:1] 共三个"


def test_unsupported_language_is_left_alone() -> None:
    assert normalize_text("Es kostet 5 Euro", "de") == "Es kostet 5 Euro"


def test_what_wetext_rejects_is_kept_word_by_word_and_reported() -> None:
    """wetext asserts on '#3' and '20000$'; the words around them are still spelled out."""
    failed: list[str] = []
    spoken = normalize_text("Caption #3 costs $5, not 20000$", "en", failed)
    assert spoken == "Caption #3 costs five dollars, not 20000$"
    assert failed == ["#3", "20000$"]


def test_long_text_is_normalized_in_pieces_with_the_same_result() -> None:
    sentence = "我们在上午9点靠岸，一共235个人。"
    spoken = normalize_text(sentence * 40, "zh")
    assert spoken == normalize_text(sentence, "zh") * 40 and not any(ch.isdigit() for ch in spoken)


def test_normalizing_never_raises_on_odd_text() -> None:
    for text in ["&am&amp;", "84\ufffdF", "12\u00a0345", "+ ¶", "#", "$$$", "1/0", "~5~"]:
        assert isinstance(normalize_text(text, "en", []), str)
