import pytest

from pipeline.text.pinyin import PinyinError, to_canonical, to_tone_marks


@pytest.mark.parametrize(
    ("token", "canonical"),
    [("hào", "hao4"), ("hao4", "hao4"), ("lǜ", "lv4"), ("lü4", "lv4"), ("ma", "ma5"), ("HAO3", "hao3")],
)
def test_canonical_form(token: str, canonical: str) -> None:
    assert to_canonical(token) == canonical


@pytest.mark.parametrize("token", ["xyz4", "hao9", "", "door", "bq"])
def test_non_syllables_are_rejected(token: str) -> None:
    with pytest.raises(PinyinError):
        to_canonical(token)


def test_tone_marks_invert_canonical() -> None:
    assert to_tone_marks("lv4") == "lǜ"
    assert to_canonical(to_tone_marks("zhuang1")) == "zhuang1"
    assert to_canonical("ê̄") == "ê1"  # 欸, an interjection pypinyin writes with ê
