"""Packed ASR against one Whisper call per line: agreement of verdicts and time, on 100 lines per language.

One invocation: the engines speak N English (Piper) and N Mandarin (FastSpeech2) lines built from the sample
sentences of bench/engines.py; each clip is judged by the gate's intelligibility check alone (one Whisper window a
line) and packed (``qa.asr_pack``: lines end to end in windows of up to 28 s). Prints per language the share of
lines whose verdict agrees, the lines that differ, and both ASR times. No asserts.

    .venv/bin/python bench/asr_pack.py [--lines 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import EN, ZH


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100)
    args = parser.parse_args()

    from pipeline.audio.profiles import resolve_profile
    from pipeline.engines.base import SynthesisRequest, VoiceRef
    from pipeline.engines.registry import EngineRegistry
    from pipeline.qa.asr_pack import transcribe_packed, windows
    from pipeline.qa.models import asr_model, at_16k, default_asr_models, error_rate, intelligibility, whisper_model
    from pipeline.settings import load_settings
    from pipeline.text.markup import parse
    from pipeline.text.normalize import normalize, normalize_text

    settings = load_settings()
    profile = resolve_profile(settings.audio.profiles_file, "broadcast")
    registry = EngineRegistry(settings.engines)
    models = {**default_asr_models(settings.qa.model_cache), **settings.qa.asr_models}
    print(f"\n{args.lines} lines per language, this machine; times exclude synthesis and model loading\n")
    print("| lang | lines | windows | verdicts agree | differ (alone → packed) | ASR alone s | ASR packed s | × |")
    print("|---|---|---|---|---|---|---|---|")
    for lang, engine, pool in (("en", "piper", EN), ("zh", "mandarin", ZH)):
        texts = [f"{pool[n % len(pool)]} {pool[(n + 7) % len(pool)]}" for n in range(args.lines)]
        clips = []
        for n, text in enumerate(texts):
            request = SynthesisRequest(normalize(parse(text), lang), lang, VoiceRef("bench"), seed=n, line_id=str(n))
            result = registry.get(engine).synthesize(request)
            clips.append(at_16k(result.samples, result.sample_rate))
        spoken = [normalize_text(text, lang) for text in texts]
        whisper = whisper_model(asr_model(lang, models)[0] or "")
        intelligibility(clips[0], 16000, spoken[0], lang, models, profile)  # warm up
        started = time.perf_counter()
        alone = [
            intelligibility(c, 16000, t, lang, models, profile).verdict for c, t in zip(clips, spoken, strict=True)
        ]
        alone_s = time.perf_counter() - started
        started = time.perf_counter()
        heard = []
        for i in range(0, len(clips), 8):  # the gate packs per task: batches of 8 lines
            heard += transcribe_packed(whisper, clips[i : i + 8], lang)
        packed_s = time.perf_counter() - started
        warn_fail = profile.qa.asr_band(lang)
        packed = []
        for text, words in zip(spoken, heard, strict=True):
            rate = error_rate(text, words, lang)[0]
            packed.append("pass" if rate <= warn_fail[0] else "warn" if rate <= warn_fail[1] else "fail")
        differ = [f"{a}→{p}" for a, p in zip(alone, packed, strict=True) if a != p]
        agree = 1 - len(differ) / len(clips)
        count = sum(len(windows([len(c) / 16000 for c in clips[i : i + 8]])) for i in range(0, len(clips), 8))
        print(f"| {lang} | {len(clips)} | {count} | {agree:.0%} | {', '.join(differ) or '-'} | {alone_s:.1f} | "
              f"{packed_s:.1f} | {alone_s / packed_s:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
