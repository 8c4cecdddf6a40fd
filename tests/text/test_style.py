import pytest

from pipeline.text.style import DIALECTS, parse_style


def test_excited_mandarin_instruction() -> None:
    style = parse_style("用兴奋的语气说")
    assert style.emotion == "excited" and style.speed > 1 and style.energy > 1
    assert style.instruction == "用兴奋的语气说"


def test_slowly_and_sadly_combine() -> None:
    style = parse_style("slowly and sadly")
    assert style.emotion == "sad" and style.speed < 0.9 and style.energy < 1


@pytest.mark.parametrize(
    ("instruction", "field", "direction"),
    [
        ("fast", "speed", 1),
        ("语速快一点", "speed", 1),
        ("slowly", "speed", -1),
        ("慢一点", "speed", -1),
        ("loudly", "energy", 1),
        ("大声", "energy", 1),
        ("softly", "energy", -1),
        ("轻声", "energy", -1),
        ("angry", "energy", 1),
        ("生气地说", "energy", 1),
        ("happily", "pitch", 1),
        ("悲伤", "pitch", -1),
    ],
)
def test_cues_move_the_right_ratio(instruction: str, field: str, direction: int) -> None:
    assert (getattr(parse_style(instruction), field) - 1.0) * direction > 0


def test_happy_is_not_read_as_fast() -> None:
    style = parse_style("用快乐的语气")
    assert style.emotion == "happy" and "fast" not in style.cues


def test_whisper() -> None:
    style = parse_style("whisper it")
    assert style.whisper and style.energy < 0.6
    assert parse_style("悄悄地说").whisper


@pytest.mark.parametrize(
    ("instruction", "dialect"),
    [
        ("请用广东话表达。", "cantonese"),
        ("粤语", "cantonese"),
        ("东北话", "northeastern"),
        ("甘肃话", "gansu"),
        ("贵州话", "guizhou"),
        ("河南话", "henan"),
        ("湖北话", "hubei"),
        ("湖南话", "hunan"),
        ("江西话", "jiangxi"),
        ("闽南话", "minnan"),
        ("宁夏话", "ningxia"),
        ("山西话", "shanxi"),
        ("陕西话", "shaanxi"),
        ("山东话", "shandong"),
        ("上海话", "shanghai"),
        ("用四川话说", "sichuan"),
        ("天津话", "tianjin"),
        ("云南话", "yunnan"),
        ("in Cantonese", "cantonese"),
    ],
)
def test_all_seventeen_dialects(instruction: str, dialect: str) -> None:
    style = parse_style(instruction)
    assert style.dialect == dialect
    assert style.dialect_instruction == f"请用{DIALECTS[dialect].name_zh}表达。"


def test_seventeen_dialects_known() -> None:
    assert len(DIALECTS) == 17


def test_explicit_speed_and_clamping() -> None:
    assert parse_style("speed 1.3").speed == 1.3
    assert parse_style("0.8倍速").speed == 0.8
    clamped = parse_style("5x")
    assert clamped.speed == 2.0 and clamped.warnings


def test_contradictions_and_unknown_instructions_warn() -> None:
    assert any("contradictory" in w for w in parse_style("fast but slow").warnings)
    unknown = parse_style("mysterious")
    assert unknown.is_neutral and unknown.warnings and unknown.instruction == "mysterious"


def test_intensifier_strengthens() -> None:
    assert parse_style("very slowly").speed < parse_style("slowly").speed
