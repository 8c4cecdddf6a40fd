"""Smoke-test the CosyVoice adapter on a GPU node with a real CosyVoice checkout and weights.

    PYTHONPATH=/opt/CosyVoice:/opt/CosyVoice/third_party/Matcha-TTS \\
    .venv/bin/python scripts/gpu_smoke.py --model-dir /models/Fun-CosyVoice3-0.5B \\
        --ref-wav voices/narrator.wav --ref-text "希望你以后能够做的比我还好呦。" --out var/gpu-smoke

Speaks an English line (cross-lingual when the reference is Mandarin), a Mandarin line with pinyin overrides, an
event and a break, a dialect line and a verbatim instruction; writes one WAV per line into --out and prints the
upstream mode, duration, synthesis time and real-time factor of each. Exit status 0 only if every line passed.
Listen to the files: this checks that the adapter drives upstream correctly, not that the voice is good.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.engines.base import EngineError, SynthesisRequest, VoiceRef  # noqa: E402
from pipeline.engines.cosyvoice import DEFAULT_MODULE, CosyVoiceEngine  # noqa: E402
from pipeline.text.markup import parse  # noqa: E402
from pipeline.text.style import parse_style  # noqa: E402

PYTHONPATH_HINT = (
    "add the CosyVoice checkout and its third_party/Matcha-TTS to PYTHONPATH, e.g.\n"
    "  git clone --recursive https://github.com/FunAudioLLM/CosyVoice /opt/CosyVoice\n"
    "  export PYTHONPATH=/opt/CosyVoice:/opt/CosyVoice/third_party/Matcha-TTS"
)

# name, language, script text (dubflow markup), style instruction
LINES: tuple[tuple[str, str, str, str], ...] = (
    ("english", "en", "The quick brown fox jumps over the lazy dog, then takes a well-deserved nap.", ""),
    (
        "mandarin_pinyin",
        "zh",
        '她[h][ào]干净，每天都把房间收拾得整整齐齐。[breath]<break time="400ms"/>高管也对报道[j][ǐ]予好评。',
        "",
    ),
    ("dialect", "zh", "今天天气真不错，我们出去走走吧。", "用四川话说"),
    ("instruct", "zh", "收到好友从远方寄来的生日礼物，那份意外的惊喜让我心中充满了快乐。", "请非常开心地说一句话。"),
)


def preflight(module: str, allow_cpu: bool) -> str | None:
    """Why this node cannot run the smoke test, or None."""
    try:
        import torch
    except ImportError:
        return "torch is not importable: install the GPU dependencies (pip install -e '.[gpu]')"
    if not torch.cuda.is_available() and not allow_cpu:
        return "CUDA is not available (torch.cuda.is_available() is False): run on a GPU node, or pass --allow-cpu"
    root = module.split(".", 1)[0]
    if importlib.util.find_spec(root) is None:
        return f"'{root}' is not importable: {PYTHONPATH_HINT}"
    if importlib.util.find_spec("matcha") is None:
        return f"Matcha-TTS ('matcha') is not importable: {PYTHONPATH_HINT}"
    try:
        importlib.import_module(module)
    except Exception as exc:  # missing upstream requirements surface here (hyperpyyaml, onnxruntime, whisper …)
        return f"importing {module} failed: {type(exc).__name__}: {exc}\n{PYTHONPATH_HINT}"
    return None


def gpu_summary() -> str:
    import torch

    if not torch.cuda.is_available():
        return "CPU (no CUDA)"
    props = torch.cuda.get_device_properties(0)
    return f"{props.name}, {props.total_memory / 2**30:.1f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="local CosyVoice2/3 model directory")
    parser.add_argument("--ref-wav", type=Path, required=True, help="3-30 s reference clip, >= 16 kHz")
    parser.add_argument("--ref-text", required=True, help="transcript of the reference clip")
    parser.add_argument("--ref-lang", default="zh", help="language of the reference clip (default zh)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the WAVs")
    parser.add_argument("--fp16", action="store_true", help="load in fp16 (watch for NaN/silent output)")
    parser.add_argument("--load-trt", action="store_true")
    parser.add_argument("--load-vllm", action="store_true", help="not on V100 (no bf16)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--module", default=DEFAULT_MODULE, help=f"upstream module (default {DEFAULT_MODULE})")
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (slow; for debugging)")
    args = parser.parse_args(argv)

    problem = preflight(args.module, args.allow_cpu)
    if problem:
        print(f"gpu_smoke: {problem}", file=sys.stderr)
        return 2

    import soundfile

    print(f"device: {gpu_summary()}")
    engine = CosyVoiceEngine(
        args.model_dir, fp16=args.fp16, load_trt=args.load_trt, load_vllm=args.load_vllm, module=args.module
    )
    try:
        engine.load()
    except EngineError as exc:
        print(f"gpu_smoke: {exc}", file=sys.stderr)
        return 2
    caps = engine.capabilities
    print(f"model: {engine.model_version}  sample rate {caps.sample_rate} Hz  loaded in {engine.load_seconds:.1f}s")

    args.out.mkdir(parents=True, exist_ok=True)
    voice = VoiceRef(
        "smoke", reference_wav=str(args.ref_wav), reference_text=args.ref_text, reference_lang=args.ref_lang
    )
    failures = 0
    print(f"{'line':<16} {'mode':<14} {'audio s':>8} {'synth s':>8} {'RTF':>6}  file / problem")
    for name, lang, text, style in LINES:
        request = SynthesisRequest(
            utterance=parse(text), lang=lang, voice=voice, style=parse_style(style), seed=args.seed, line_id=name
        )
        mode = "?"
        try:
            mode = engine.plan(request).mode
            started = time.perf_counter()
            result = engine.synthesize(request)
            wall = time.perf_counter() - started
        except EngineError as exc:
            failures += 1
            print(f"{name:<16} {mode:<14} {'-':>8} {'-':>8} {'-':>6}  FAILED: {exc}")
            continue
        path = args.out / f"{name}.wav"
        soundfile.write(path, result.samples, result.sample_rate, subtype="PCM_16")
        print(f"{name:<16} {mode:<14} {result.duration:8.2f} {wall:8.2f} {result.rtf:6.2f}  {path}")
        for warning in result.warnings:
            print(f"{'':<16} warning: {warning}")

    try:
        import torch

        if torch.cuda.is_available():
            print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    except ImportError:
        pass
    print("ok" if not failures else f"{failures} line(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
