"""Per engine and language: load time, real-time factor on a fixed 20-sentence text, peak RSS.

Each engine runs in its own child process so its peak RSS is its own; a child that only imports the pipeline
is the RSS baseline. RTF is the median over ``--runs`` passes of the 20 sentences (synthesis seconds / audio
seconds). Prints a table; no asserts.

    .venv/bin/python bench/engines.py [--runs 3] [--engines piper,mandarin,espeak]
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
CASES = {"piper": ["en"], "mandarin": ["zh"], "espeak": ["en", "zh", "yue"]}


def _child(engine_name: str, lang: str, runs: int) -> dict[str, float]:
    from pipeline.engines.base import SynthesisRequest, VoiceRef
    from pipeline.engines.registry import EngineRegistry
    from pipeline.settings import EngineSettings
    from pipeline.text.markup import parse
    from pipeline.text.normalize import normalize

    registry = EngineRegistry(EngineSettings(enabled=[engine_name]))
    start = time.perf_counter()
    engine = registry.get(engine_name)
    load = time.perf_counter() - start
    sentences = EN if lang == "en" else ZH
    rtfs = []
    for _ in range(runs):
        synth = audio = 0.0
        for text in sentences:
            result = engine.synthesize(SynthesisRequest(normalize(parse(text), lang), lang, VoiceRef("bench")))
            synth += result.synth_seconds
            audio += result.duration
        rtfs.append(synth / audio)
    return {"load_s": load, "rtf": statistics.median(rtfs), "audio_s": audio, "rss_mb": _rss_mb()}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(args: list[str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default=",".join(CASES))
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "LANG"), help=argparse.SUPPRESS)
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
        print(json.dumps(_child(*args.child, args.runs)))
        return

    from rich.console import Console
    from rich.table import Table

    base = _run(["--baseline"])["rss_mb"]
    table = Table(title=f"engines: 20 sentences, median of {args.runs} runs, 2-core CPU; RSS baseline {base:.0f} MB")
    for column in ("engine", "lang", "load s", "RTF", "audio s", "peak RSS MB", "RSS × baseline"):
        table.add_column(column, justify="right")
    for name in args.engines.split(","):
        for lang in CASES[name]:
            row = _run(["--child", name, lang, "--runs", str(args.runs)])
            if "error" in row:
                table.add_row(name, lang, "not measured", row["error"], "", "", "")
                continue
            table.add_row(name, lang, f"{row['load_s']:.2f}", f"{row['rtf']:.3f}", f"{row['audio_s']:.1f}",
                          f"{row['rss_mb']:.0f}", f"{row['rss_mb'] / base:.2f}")  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    main()
