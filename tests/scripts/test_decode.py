import pytest

from pipeline.scripts.decode import DecodeError, decode
from pipeline.scripts.ingest import ingest_bytes
from pipeline.settings import Settings

TEXT = "1\n00:00:01,000 --> 00:00:02,000\n你好，世界。这是一个中文字幕文件，用来测试编码。\n"


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),
    ],
)
def test_encodings(encoding: str, reported: str) -> None:
    decoded = decode(TEXT.encode(encoding), ["gb18030"])
    assert decoded.text == TEXT and decoded.encoding == reported


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_newlines(newline: str) -> None:
    assert decode(TEXT.replace("\n", newline).encode(), []).text == TEXT


def test_undecodable_bytes_name_the_line() -> None:
    with pytest.raises(DecodeError) as info:
        decode(b"fine\nalso fine\nbad \xff\xfe\x00 here\n", [])
    assert info.value.line == 3 and "byte 19" in str(info.value)


def test_gbk_subtitle_file_ingests(ingest_settings) -> None:
    result = ingest_bytes(TEXT.encode("gbk"), "zh.srt", ingest_settings)
    assert result.ok and result.encoding == "gb18030" and result.lines[0].text.startswith("你好")


def test_forced_wrong_encoding_is_an_error_with_line(ingest_settings) -> None:
    result = ingest_bytes(b"text\nok\n\xe4\xbd\n", "s.csv", ingest_settings, encoding="utf-8")
    assert [(p.code, p.line) for p in result.errors] == [("encoding", 3)]


SUB = "1\n00:00:01,000 --> 00:00:02,000\nHello there, {}.\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_bom_are_not_read_as_utf8(encoding: str) -> None:
    """NULs are valid UTF-8, so "H\\0e\\0l\\0" would decode as "H e l": the NUL pattern is looked at first."""
    for text in (SUB.format("friend"), TEXT):
        decoded = decode(text.encode(encoding), ["gb18030"])
        assert (decoded.text, decoded.encoding, decoded.guessed) == (text, encoding, False)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "Où est la gare ? Très bien, merci. Ça va, à bientôt."),
        ("cp1250", "Dobrý den, jak se máte? Děkuji, dobře. Žluťoučký kůň."),
        ("cp1251", "Добрый день, как дела? Спасибо, всё хорошо."),
        ("big5", "你好，今天天氣很好。我們一起去吃飯吧。"),
        ("shift_jis", "こんにちは、元気ですか？ありがとうございます。"),
        ("euc_kr", "안녕하세요, 잘 지내세요? 감사합니다."),
        ("gb18030", "你好，今天天气很好。我们一起去吃饭吧。"),
    ],
)
def test_legacy_encodings_are_recognised_and_reported_as_a_guess(encoding: str, text: str) -> None:
    fallbacks = Settings().ingest.fallback_encodings
    decoded = decode(SUB.format(text).encode(encoding), fallbacks)
    assert (decoded.text, decoded.encoding, decoded.guessed) == (SUB.format(text), encoding, True)


def test_a_latin_file_with_one_accented_byte_is_not_read_as_cjk() -> None:
    """84°F in Windows-1252 is also two valid GB18030 bytes (84癋): a lone CJK character between Latin letters
    is what a wrong double-byte reading looks like, so the single-byte reading wins the tie."""
    decoded = decode("It is 84°F outside.\n".encode("cp1252"), Settings().ingest.fallback_encodings)
    assert (decoded.text, decoded.encoding) == ("It is 84°F outside.\n", "cp1252")


def test_a_guessed_encoding_is_a_warning_naming_it(ingest_settings) -> None:
    result = ingest_bytes(SUB.format("café").encode("cp1252"), "s.srt", ingest_settings)
    assert result.ok and result.encoding == "cp1252"
    assert [(p.code, "cp1252" in p.message) for p in result.warnings] == [("encoding-guessed", True)]
