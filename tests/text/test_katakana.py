"""Japanese → katakana as upstream CosyVoice3 wants it (its example.py shows the form)."""

from __future__ import annotations

from pipeline.text.katakana import to_katakana

# upstream example.py: 歴史的世界においては、… -> レキシ テキ セカイ ニ オイ テ ワ、カコ ワ …
UPSTREAM_SOURCE = "歴史的世界においては、過去は単に過ぎ去ったものではない、プラトンのいう如く非有が有である。"
UPSTREAM_KATAKANA = "レキシ テキ セカイ ニ オイ テ ワ、カコ ワ タンニ スギサッ タ モノ デ ワ ナイ、プラトン ノ イウ ゴトク ヒ ユー ガ ユー デ アル。"


def test_upstreams_own_example_reads_the_same_but_three_readings() -> None:
    ours = to_katakana(UPSTREAM_SOURCE)
    assert ours.unread == ()
    theirs = UPSTREAM_KATAKANA.replace("、", " 、 ").replace("。", " 。").split()
    mine = ours.text.replace("、", " 、 ").replace("。", " 。").split()
    # the same words and punctuation up to プラトン ノ; then UniDic reads いう as ユー, 非有 as ヒウ, 有 as アリ
    assert mine[:20] == theirs[:20]
    assert mine[20:] == ["ユー", "ゴトク", "ヒウ", "ガ", "アリ", "デ", "アル", "。"]


def test_words_without_a_reading_are_kept_and_reported() -> None:
    reading = to_katakana("東京タワーはHello世界！")
    assert reading.text == "トーキョー タワー ワ Hello セカイ！"
    assert reading.unread == ("Hello",)


def test_no_kanji_or_hiragana_survive() -> None:
    text = to_katakana("今日はいい天気ですね。明日も晴れるでしょう。").text
    assert not any("\u3040" <= ch <= "\u309f" or "\u4e00" <= ch <= "\u9fff" for ch in text), text
