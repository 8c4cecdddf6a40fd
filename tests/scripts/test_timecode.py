import datetime as dt

import pytest

from pipeline.scripts.timecode import TimecodeError, parse_timecode


@pytest.mark.parametrize(
    ("value", "fps", "seconds"),
    [
        ("00:00:01,500", 25, 1.5),
        ("00:01:02.250", 25, 62.25),
        ("01:02.5", 25, 62.5),
        ("00:00:10:12", 25, 10.48),
        ("00:00:10:12", 24, 10.5),
        ("12.5", 25, 12.5),
        ("3s", 25, 3.0),
        (7, 25, 7.0),
        (1.25, 25, 1.25),
        (dt.time(0, 1, 2, 500_000), 25, 62.5),
        (dt.timedelta(seconds=3), 25, 3.0),
        ("01:00:00", 25, 3600.0),
    ],
)
def test_formats(value: object, fps: float, seconds: float) -> None:
    assert parse_timecode(value, fps) == pytest.approx(seconds)


def test_drop_frame_at_29_97() -> None:
    # 00:01:00;02 is the first frame after the two dropped at minute 1: frame number 1800.
    assert parse_timecode("00:01:00;02", 29.97) == pytest.approx(1800 / 29.97)
    assert parse_timecode("00:10:00;00", 29.97) == pytest.approx(17982 / 29.97)


@pytest.mark.parametrize(
    ("value", "fps", "fragment"),
    [
        ("00:00:xx", 25, "is not a timecode"),
        ("00:00:01:25", 25, "frame 25 does not exist"),
        ("00:61:00,000", 25, "below 60"),
        ("00:01:00;00", 29.97, "dropped"),
        ("00:00:01;00", 25, "drop-frame"),
        (-1, 25, "non-negative"),
        (True, 25, "not a timecode"),
    ],
)
def test_errors_say_what_is_wrong(value: object, fps: float, fragment: str) -> None:
    with pytest.raises(TimecodeError, match=fragment):
        parse_timecode(value, fps)


def test_empty_is_none() -> None:
    assert parse_timecode(None, 25) is None and parse_timecode("  ", 25) is None
