"""Smoke-test the CosyVoice adapter on a GPU node: real weights where a model directory exists, otherwise the tiny
generated CosyVoice3 of the contract tests (upstream's classes, random weights: noise, but every code path).

    PYTHONPATH=/opt/CosyVoice:/opt/CosyVoice/third_party/Matcha-TTS \\
    .venv/bin/python scripts/gpu_smoke.py --model-dir /models/Fun-CosyVoice3-0.5B \\
        --ref-wav voices/narrator.wav --ref-text "希望你以后能够做的比我还好呦。" --out var/gpu-smoke
    .venv-cosyvoice/bin/python scripts/gpu_smoke.py --out var/gpu-smoke   # tiny model, upstream from ../shared

Speaks an English line (cross-lingual when the reference is Mandarin), a Mandarin line with pinyin overrides, an
event and a break, a dialect line and a verbatim instruction, once per precision (fp32, and fp16 on CUDA); writes
one WAV per line into --out and prints the upstream mode, duration, synthesis time and real-time factor of each,
and the first call's latency. Exit status 0 only if every line passed. Listen to the files (real weights): this
checks that the adapter drives upstream correctly, not that the voice is good.
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

UPSTREAM = REPO.parent / "shared" / "upstream"  # the unmodified sources the contract tests use
UPSTREAM_PROMPT = ("asset/zero_shot_prompt.wav", "希望你以后能够做的比我还好呦。")  # upstream example.py's pair

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
    parser.add_argument("--model-dir", type=Path, help="local CosyVoice2/3 model directory (default: tiny model)")
    parser.add_argument(
        "--upstream",
        type=Path,
        default=UPSTREAM,
        help="CosyVoice + Matcha-TTS sources, used when upstream is not importable",
    )
    parser.add_argument("--ref-wav", type=Path, help="3-30 s reference clip, >= 16 kHz (default: upstream's)")
    parser.add_argument("--ref-text", help="transcript of the reference clip")
    parser.add_argument("--precisions", default=None, help="fp32,fp16 (default: both on CUDA, fp32 on CPU)")
    parser.add_argument("--ref-lang", default="zh", help="language of the reference clip (default zh)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the WAVs")
    parser.add_argument("--load-trt", action="store_true")
    parser.add_argument("--load-vllm", action="store_true", help="not on V100 (no bf16)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--module", default=DEFAULT_MODULE, help=f"upstream module (default {DEFAULT_MODULE})")
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (slow; for debugging)")
    args = parser.parse_args(argv)

    if importlib.util.find_spec(args.module.split(".", 1)[0]) is None and (args.upstream / "CosyVoice").is_dir():
        sys.path[:0] = [str(args.upstream / "CosyVoice"), str(args.upstream / "Matcha-TTS")]
    problem = preflight(args.module, args.allow_cpu)
    if problem:
        print(f"gpu_smoke: {problem}", file=sys.stderr)
        return 2
    import torch

    args.out.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir
    if model_dir is None or not model_dir.is_dir():
        from tests.upstream import tiny_model

        print(f"no model directory{f' at {model_dir}' if model_dir else ''}: building the tiny CosyVoice3")
        model_dir = tiny_model.build(args.out / "tiny-model" / "Fun-CosyVoice3-tiny")
    ref_wav, ref_text = args.ref_wav, args.ref_text
    if ref_wav is None:
        ref_wav, ref_text = args.upstream / "CosyVoice" / UPSTREAM_PROMPT[0], UPSTREAM_PROMPT[1]
    if not ref_text:
        print("gpu_smoke: --ref-text is required with --ref-wav", file=sys.stderr)
        return 2
    precisions = (args.precisions or ("fp32,fp16" if torch.cuda.is_available() else "fp32")).split(",")
    print(f"device: {gpu_summary()}")
    failures = 0
    for precision in precisions:
        failures += run(args, model_dir, ref_wav, ref_text, precision == "fp16")
    print("ok" if not failures else f"{failures} line(s) failed")
    return 1 if failures else 0


def run(args: argparse.Namespace, model_dir: Path, ref_wav: Path, ref_text: str, fp16: bool) -> int:
    import soundfile
    import torch

    label = "fp16" if fp16 else "fp32"
    engine = CosyVoiceEngine(model_dir, fp16=fp16, load_trt=args.load_trt, load_vllm=args.load_vllm,
                             module=args.module, compile_dir=args.out / "compiled")  # fmt: skip
    try:
        engine.load()
    except EngineError as exc:
        print(f"gpu_smoke [{label}]: {exc}", file=sys.stderr)
        return len(LINES)
    caps = engine.capabilities
    print(f"[{label}] model: {engine.model_version}  {caps.sample_rate} Hz  loaded in {engine.load_seconds:.1f}s")
    out = args.out / label
    out.mkdir(parents=True, exist_ok=True)
    voice = VoiceRef("smoke", reference_wav=str(ref_wav), reference_text=ref_text, reference_lang=args.ref_lang)
    failures = 0
    first_call: float | None = None
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
        first_call = wall if first_call is None else first_call
        path = out / f"{name}.wav"
        soundfile.write(path, result.samples, result.sample_rate, subtype="PCM_16")
        print(f"{name:<16} {mode:<14} {result.duration:8.2f} {wall:8.2f} {result.rtf:6.2f}  {path}")
        for warning in result.warnings:
            print(f"{'':<16} warning: {warning}")
    if first_call is not None:
        print(f"[{label}] first-call latency: {first_call:.2f}s (includes the prompt extraction)")
    if torch.cuda.is_available():
        print(f"[{label}] peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    return failures


if __name__ == "__main__":
    sys.exit(main())
