"""Timecodes as they appear in line sheets → seconds.

Accepted: ``HH:MM:SS,mmm`` / ``HH:MM:SS.mmm`` (subtitle style), ``MM:SS.mmm``, ``HH:MM:SS``, SMPTE
``HH:MM:SS:FF`` (frames at the configured rate) and drop-frame ``HH:MM:SS;FF`` (29.97/59.94), plain seconds
(``12.5`` or ``12.5s``), and the time/number cells a spreadsheet hands back.
"""

from __future__ import annotations

import datetime as dt
import math
import re

_CLOCK = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d{1,2}):(?P<s>\d{1,2})(?:[,.](?P<frac>\d{1,3}))?$")
_SMPTE = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{1,2}):(?P<s>\d{1,2})(?P<sep>[:;])(?P<f>\d{1,3})$")
_SECONDS = re.compile(r"^(?P<v>\d+(?:\.\d+)?|\.\d+)\s*s?$")


class TimecodeError(ValueError):
    pass


def parse_timecode(value: object, frame_rate: float) -> float | None:
    """Seconds for a timecode cell; ``None`` for an empty cell; ``TimecodeError`` naming the format otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise TimecodeError(f"'{value}' is not a timecode")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise TimecodeError(f"'{value}' is not a non-negative number of seconds")
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    text = str(value).strip()
    if m := _SECONDS.match(text):
        return float(m.group("v"))
    if m := _SMPTE.match(text):
        return _smpte(m, frame_rate, text)
    if m := _CLOCK.match(text):
        h, mins, secs = int(m.group("h") or 0), int(m.group("m")), int(m.group("s"))
        if mins >= 60 or secs >= 60:
            raise TimecodeError(f"'{text}': minutes and seconds must be below 60")
        frac = (m.group("frac") or "0").ljust(3, "0")
        return h * 3600 + mins * 60 + secs + int(frac) / 1000
    raise TimecodeError(
        f"'{text}' is not a timecode (HH:MM:SS,mmm, HH:MM:SS.mmm, HH:MM:SS:FF at {frame_rate:g} fps, or seconds)"
    )


def _smpte(m: re.Match[str], frame_rate: float, text: str) -> float:
    h, mins, secs, frames = (int(m.group(k)) for k in ("h", "m", "s", "f"))
    nominal = round(frame_rate)
    if mins >= 60 or secs >= 60:
        raise TimecodeError(f"'{text}': minutes and seconds must be below 60")
    if frames >= nominal:
        raise TimecodeError(f"'{text}': frame {frames} does not exist at {frame_rate:g} fps")
    total = (h * 3600 + mins * 60 + secs) * nominal + frames
    if m.group("sep") == ";":
        if nominal not in (30, 60) or math.isclose(frame_rate, nominal):
            raise TimecodeError(f"'{text}': drop-frame ';' timecode needs 29.97 or 59.94 fps, not {frame_rate:g}")
        dropped = 2 * nominal // 30
        total_minutes = h * 60 + mins
        if secs == 0 and frames < dropped and total_minutes % 10:
            raise TimecodeError(f"'{text}': frames 0-{dropped - 1} are dropped at this minute")
        total -= dropped * (total_minutes - total_minutes // 10)
    return total / frame_rate


# Cue timestamps in subtitle files, read the way players read them: hours may be missing, ',' and '.' both
# separate the fraction, and the fraction may have 1–4 digits. 1–2 digits are a decimal fraction (``,5`` is
# 500 ms, as pysubs2 reads it); 4 digits are milliseconds that overflowed (``06,1000`` is 7.000 s: a writer that
# forgot to carry, which ffmpeg and VLC read the same way).
CUE_STAMP = r"(?:\d{1,3}:)?\d{1,2}:\d{1,2}(?:[,.:]\d{1,4})?"
_CUE_STAMP = re.compile(r"^(?:(?P<h>\d{1,3}):)?(?P<m>\d{1,2}):(?P<s>\d{1,2})(?:(?P<sep>[,.:])(?P<frac>\d{1,4}))?$")


def parse_cue_stamp(stamp: str, separator: str, hours_optional: bool) -> tuple[float, list[str]]:
    """Seconds for one cue timestamp, and what was lenient about it (empty when it follows the format exactly).
    Raises ``TimecodeError`` when minutes or seconds are out of range or the stamp is not one at all."""
    m = _CUE_STAMP.match(stamp.strip())
    if m is None:
        raise TimecodeError(f"'{stamp}' is not a cue timestamp")
    minutes, secs = int(m.group("m")), int(m.group("s"))
    if minutes >= 60 or secs >= 60:
        raise TimecodeError(f"'{stamp}': minutes and seconds must be below 60")
    lenient: list[str] = []
    if m.group("h") is None and not hours_optional:
        lenient.append("no hours")
    if len(m.group("m")) != 2 or len(m.group("s")) != 2:
        lenient.append("one-digit minutes or seconds")
    frac, sep = m.group("frac"), m.group("sep")
    if frac is None:
        lenient.append("no milliseconds")
        millis = 0
    else:
        if sep != separator:
            lenient.append(f"'{sep}' before the milliseconds")
        if len(frac) == 3:
            millis = int(frac)
        elif len(frac) == 4:
            millis = int(frac)
            lenient.append(
                f"{len(frac)}-digit milliseconds" + (" overflow into the next second" if millis > 999 else "")
            )
        else:
            millis = int(frac.ljust(3, "0"))
            lenient.append(f"{len(frac)}-digit fraction read as {millis} ms")
    return int(m.group("h") or 0) * 3600 + minutes * 60 + secs + millis / 1000, lenient
