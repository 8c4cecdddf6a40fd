"""Assembly puts every line at its cue to the sample; subtitles carry what was actually spoken."""

from __future__ import annotations

import numpy as np
import pysubs2
import soundfile as sf

from pipeline.audio.assemble import Placed, dialogue_stem, narration, room_tone, subtitles
from pipeline.audio.encode import encode
from pipeline.audio.profiles import Encoding, RoomTone


def test_each_clip_starts_at_its_cue_sample() -> None:
    rate = 48000
    starts = [0.0, 1.2345, 3.000021]
    clips = [Placed(f"l{n}", f"line {n}", s, np.r_[1.0, np.zeros(99)].astype(np.float32)) for n, s in
             enumerate(starts)]  # fmt: skip
    stem = dialogue_stem(clips, rate, tail_s=0.1)
    assert list(np.flatnonzero(stem)) == [round(s * rate) for s in starts]
    srt = pysubs2.SSAFile.from_string(subtitles(clips, rate))
    assert [(e.start, e.end) for e in srt] == [(round(s * 1000), round((s + 100 / rate) * 1000)) for s in starts]


def test_narration_has_room_tone_head_and_tail_and_pauses() -> None:
    rate = 44100
    speech = [(np.full(rate, 0.1, np.float32), 0.5), (np.full(rate, 0.1, np.float32), 0.0)]
    chapter = narration(speech, rate, RoomTone(head_s=0.75, tail_s=2.0, level_db=-70.0))
    assert chapter.shape[0] == int(0.75 * rate) + rate + int(0.5 * rate) + rate + int(2.0 * rate)
    head = chapter[: int(0.75 * rate)]
    assert abs(20 * np.log10(np.sqrt(np.mean(head.astype(np.float64) ** 2))) + 70.0) < 0.5


def test_mp3_is_constant_bit_rate_at_the_profile_rate(tmp_path) -> None:
    rate, seconds = 44100, 10.0
    x = 0.2 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)
    data = encode(x, rate, Encoding(format="mp3", mp3_kbps=192))
    assert abs(len(data) * 8 / seconds / 1000 - 192) < 192 * 0.03  # CBR: size = bitrate × duration
    path = tmp_path / "a.mp3"
    path.write_bytes(data)
    info = sf.info(str(path))
    assert info.samplerate == rate and abs(info.duration - seconds) < 0.1
    wav = encode(x, rate, Encoding(format="wav", subtype="PCM_24"))
    assert sf.info(__import__("io").BytesIO(wav)).subtype == "PCM_24"


def test_room_tone_has_no_click_at_its_edges() -> None:
    rate = 44100
    tone = room_tone(1.0, rate, -70.0, seed=3)
    rms = np.sqrt(np.mean(tone.astype(np.float64) ** 2))
    edges = np.concatenate([tone[:64], tone[-64:]])
    assert np.max(np.abs(edges)) < 5 * rms  # the ends look like the middle, not a spike
