import pytest

from pipeline.scripts.decode import DecodeError, decode
from pipeline.scripts.ingest import ingest_bytes

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
