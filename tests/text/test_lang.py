"""Language per line: the writing system first, lingua for alphabets, the file's main language for short lines."""

from __future__ import annotations

import pytest

from pipeline.text.lang import detect, detect_lines, writing_system


def test_each_line_of_a_french_file_is_french_even_the_short_ones() -> None:
    lines = ["Il gagne 20000$ par an, tu sais.", "Oui.", "La porte est ouverte, entrez donc.", "D'accord."]
    assert detect_lines(lines, "en") == ["fr"] * 4


def test_a_short_line_alone_says_too_little_and_takes_the_default() -> None:
    assert detect("Oui.", "en") == "en"
    assert detect("Je ne parle pas anglais, désolé.", "en") == "fr"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I told you not to touch that.", "en"),
        ("Ich habe dir gesagt, dass du das nicht anfassen sollst.", "de"),
        ("La puerta está abierta, pasa.", "es"),
        ("Ti avevo detto di non toccarlo.", "it"),
        ("Куда ты идёшь так поздно?", "ru"),
        ("我告诉过你别碰那个。", "zh"),
        ("それに触るなと言ったでしょう。", "ja"),
        ("그거 만지지 말라고 했잖아.", "ko"),
    ],
)
def test_clear_lines_in_each_language(text: str, lang: str) -> None:
    assert detect(text, "en") == lang


def test_han_without_kana_is_japanese_in_a_japanese_file_and_chinese_elsewhere() -> None:
    assert detect_lines(["どこへ行くの？", "東京駅", "それは本当です。"], "en")[1] == "ja"
    assert detect_lines(["你要去哪里？", "东京站"], "en") == ["zh", "zh"]


def test_a_bilingual_file_keeps_each_line_its_own() -> None:
    lines = ["第一章", "我们在上午九点靠岸。", "We reached the island at nine.", "Yes.", "好。"]
    assert detect_lines(lines, "fr") == ["zh", "zh", "en", "en", "zh"]


def test_lines_without_letters_take_the_files_language() -> None:
    assert detect_lines(["Bonjour à tous, bienvenue.", "…", "123"], "en") == ["fr", "fr", "fr"]


def test_candidates_limit_the_choice_and_one_candidate_needs_no_model() -> None:
    assert detect("Dobrý den, jak se máte? Děkuji, dobře.", "en", ["en", "cs"]) == "cs"
    assert detect("Bonjour à tous, bienvenue.", "en", ["en"]) == "en"


def test_writing_systems() -> None:
    assert [writing_system(t) for t in ("abc", "漢字", "かな", "한글", "Ёж", "123 …")] == [
        "alphabet", "han", "kana", "hangul", "alphabet", None,
    ]  # fmt: skip


def test_an_unknown_configured_language_is_refused_when_settings_load() -> None:
    from pydantic import ValidationError

    from pipeline.settings import IngestSettings

    with pytest.raises(ValidationError, match="'xx' is not a language"):
        IngestSettings(languages=["en", "xx"])
