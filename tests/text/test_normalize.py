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
