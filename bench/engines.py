"""Per engine, language and voice: load time, real-time factor on a fixed 20-sentence text, peak RSS, and how well
Whisper hears it.

Each engine runs in its own child process so its peak RSS is its own; a child that only imports the pipeline
is the RSS baseline. RTF is the median over ``--runs`` passes of the 20 sentences (synthesis seconds / audio
seconds). The error is QA's intelligibility measure over the 20 sentences of the last pass (WER for English with
Whisper tiny.en, toneless-pinyin error for Mandarin and CER for Japanese with Whisper base), heard after synthesis
(not timed). Prints a table; no asserts.

    .venv/bin/python bench/engines.py [--runs 3] [--engines piper,mandarin,kokoro,espeak]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

EN = [
    "The ferry left at dawn.", "Gulls followed it out past the breakwater.", "The town grew small behind us.",
    "Nobody on board spoke for the first hour.", "The engine was loud and the coffee was bad.",
    "By half past seven the fog had lifted.", "We could see the islands, low and green.",
    "Maya said it was the first thing that had gone to plan all week.", "Theo laughed and said nothing.",
    "The captain called us to the rail.", "A seal surfaced beside the bow.", "Then it was gone again.",
    "The harbour was smaller than the map suggested.", "An old man waited on the pier.",
    "He had a dog and a lantern.", "We climbed the stone steps to the village.", "Every door was painted blue.",
    "Somewhere a radio played an old song.", "We found the inn at the top of the hill.", "It was already dark.",
]  # fmt: skip
ZH = [
    "渡轮在黎明时分出发。", "海鸥一路跟着它飞出防波堤。", "小镇在我们身后越来越小。", "第一个小时里没有人说话。",
    "发动机很吵，咖啡也很难喝。", "七点半的时候，雾散了。", "我们看见了那几座低矮的绿色小岛。",
    "她说这是这一周唯一按计划进行的事。", "他笑了笑，什么也没说。", "船长把我们叫到栏杆边。",
    "一只海豹在船头旁边露出水面。", "然后它又不见了。", "港口比地图上看起来要小。", "一个老人在码头上等着。",
    "他带着一条狗和一盏灯。", "我们沿着石阶走进村子。", "每一扇门都漆成了蓝色。", "不知哪里的收音机在放一首老歌。",
    "我们在山顶找到了那家旅店。", "天已经黑了。",
]  # fmt: skip
JA = [
    "フェリーは夜明けに出発した。", "カモメが防波堤の向こうまでついてきた。", "町は後ろでだんだん小さくなった。",
    "最初の一時間は誰も話さなかった。", "エンジンはうるさく、コーヒーはまずかった。", "七時半には霧が晴れていた。",
    "低くて緑の島がいくつか見えた。", "今週初めて計画どおりに進んだことだと彼女は言った。",
    "彼は笑って何も言わなかった。",
    "船長が私たちを手すりのところへ呼んだ。", "船首のそばにアザラシが顔を出した。", "そしてまた見えなくなった。",
    "港は地図で見るより小さかった。", "桟橋で老人が待っていた。", "彼は犬とランタンを持っていた。",
    "私たちは石段を上って村へ入った。", "どの扉も青く塗られていた。", "どこかでラジオが古い歌を流していた。",
    "丘の上で宿を見つけた。", "もう暗くなっていた。",
]  # fmt: skip
TEXTS = {"en": EN, "zh": ZH, "ja": JA, "yue": ZH}
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
# engine → (language, engine voice or "" for the engine's default)
CASES: dict[str, list[tuple[str, str]]] = {
    "piper": [("en", "")],
    "mandarin": [("zh", "")],
    "kokoro": [(lang, voice) for lang in ("en", "zh", "ja") for voice in KOKORO_VOICES],
    "espeak": [("en", ""), ("zh", ""), ("yue", "")],
}


def _child(engine_name: str, lang: str, voice: str, runs: int) -> dict[str, float]:
    from pipeline.engines.base import SynthesisRequest, VoiceRef
    from pipeline.engines.registry import EngineRegistry
    from pipeline.settings import EngineSettings
    from pipeline.text.markup import parse
    from pipeline.text.normalize import normalize

    registry = EngineRegistry(EngineSettings(enabled=[engine_name]))
    start = time.perf_counter()
    engine = registry.get(engine_name)
    load = time.perf_counter() - start
    sentences = TEXTS[lang]
    rtfs = []
    for _ in range(runs):
        synth = audio = 0.0
        clips = []
        for text in sentences:
            ref = VoiceRef("bench", engine_voice=voice or None)
            result = engine.synthesize(SynthesisRequest(normalize(parse(text), lang), lang, ref))
            synth += result.synth_seconds
            audio += result.duration
            clips.append((text, result.samples, result.sample_rate))
        rtfs.append(synth / audio)
    rss = _rss_mb()  # before the ASR model is loaded: the engine's own peak
    return {"load_s": load, "rtf": statistics.median(rtfs), "audio_s": audio, "rss_mb": rss, **_heard(clips, lang)}


def _heard(clips: list, lang: str) -> dict[str, float | str]:
    """QA's error rate over the clips (mean), with the unit; nothing where no offline model hears the language."""
    from pathlib import Path

    import soxr

    from pipeline.qa.models import GREEDY, NO_BASE_MODEL, default_asr_models, error_rate, whisper_model

    models = default_asr_models(Path("var/cache/models"))
    model = models.get("en") if lang == "en" else (models.get("*") if lang not in NO_BASE_MODEL else None)
    if model is None:
        return {}
    asr, errors, unit = whisper_model(model), [], ""
    for text, samples, rate in clips:
        segments, _ = asr.transcribe(soxr.resample(samples, rate, 16000), language=lang, **GREEDY)
        error, unit = error_rate(text, "".join(s.text for s in segments), lang)
        errors.append(error)
    return {"error": statistics.mean(errors), "unit": unit}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(args: list[str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default=",".join(CASES))
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "LANG", "VOICE"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        # Exactly what a child imports before it loads its engine.
        import pipeline.engines.registry
        import pipeline.text.markup
        import pipeline.text.normalize  # noqa: F401

        print(json.dumps({"rss_mb": _rss_mb()}))
        return
    if args.child:
        engine, lang, voice = args.child
        print(json.dumps(_child(engine, lang, "" if voice == "-" else voice, args.runs)))
        return

    from rich.console import Console
    from rich.table import Table

    base = _run(["--baseline"])["rss_mb"]
    table = Table(title=f"engines: 20 sentences, median of {args.runs} runs, 2-core CPU; RSS baseline {base:.0f} MB")
    columns = ("engine", "voice", "lang", "load s", "RTF", "audio s", "peak RSS MB", "RSS × baseline", "heard error")
    for column in columns:
        table.add_column(column, justify="right")
    for name in args.engines.split(","):
        for lang, voice in CASES[name]:
            row = _run(["--child", name, lang, voice or "-", "--runs", str(args.runs)])
            if "failed" in row:
                table.add_row(name, voice, lang, "not measured", row["failed"], "", "", "", "")
                continue
            heard = f"{row['error']:.1%} {row['unit']}" if "error" in row else "not checked (no ASR model)"
            table.add_row(name, voice, lang, f"{row['load_s']:.2f}", f"{row['rtf']:.3f}", f"{row['audio_s']:.1f}",
                          f"{row['rss_mb']:.0f}", f"{row['rss_mb'] / base:.2f}", heard)  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    main()
