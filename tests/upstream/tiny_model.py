"""A CosyVoice3 model directory made on the spot: upstream's own classes at small sizes, random weights.

Upstream's weights cannot be had on these machines, but its code can run. This builds everything
``cosyvoice.cli.cosyvoice.CosyVoice3`` loads from a model directory, with the same classes and the same wiring as the
released ``cosyvoice3.yaml`` (examples/libritts/cosyvoice3/conf in upstream), only smaller:

* ``cosyvoice3.yaml`` — CosyVoice3LM over a Qwen2 encoder, CausalMaskedDiffWithDiT with a DiT estimator,
  CausalHiFTGenerator (upsampling 8·5·3 × iSTFT hop 4 = 480 samples per mel frame, as upstream), matcha's mel
  extractor, upstream's CosyVoice3 tokenizer, and the data-pipeline functions the released yaml names;
* ``CosyVoice-BlankEN/`` — a random 2-layer Qwen2 saved with ``save_pretrained`` and a byte-level BPE tokenizer
  trained here (CosyVoice3's special tokens are added by upstream's tokenizer class itself);
* ``llm.pt``, ``flow.pt``, ``hift.pt`` — state dicts of the instantiated yaml;
* ``campplus.onnx`` and ``speech_tokenizer_v3.onnx`` — built with ``onnx.helper`` to upstream's input and output
  shapes (fbank [1, T, 80] → embedding [1, 192]; whisper mel [1, 128, T] + length → tokens [1, T/4]).

Random weights make noise: audio quality is never asserted on it. Used by tests/upstream and scripts/gpu_smoke.py.
"""

from __future__ import annotations

import json
from pathlib import Path

SPEECH_TOKENS = 6561
HIDDEN = 64
CORPUS = [
    "The quick brown fox jumps over the lazy dog. You are a helpful assistant.",
    "希望你以后能够做的比我还好呦。她好干净，每天都把房间收拾得整整齐齐。今天天气真不错，我们出去走走吧。",
    "收到好友从远方寄来的生日礼物，那份意外的惊喜让我心中充满了快乐。请用四川话表达。请用广东话表达。",
    "こんにちは、元気ですか？ありがとうございます。카타카나 안녕하세요 Bonjour à tous, Guten Morgen, ¿qué tal?",
    "0123456789 ,.!?;:'\"()[]<>{}|-_=+*&^%$#@~`/\\ ，。！？；：“”‘’（）【】《》、…—",
]

YAML = """
sample_rate: 24000
llm_input_size: {hidden}
llm_output_size: {hidden}
spk_embed_dim: 192
qwen_pretrain_path: ''
token_frame_rate: 25
token_mel_ratio: 2
chunk_size: 25
num_decoding_left_chunks: -1

llm: !new:cosyvoice.llm.llm.CosyVoice3LM
    llm_input_size: !ref <llm_input_size>
    llm_output_size: !ref <llm_output_size>
    speech_token_size: {speech_tokens}
    length_normalized_loss: True
    lsm_weight: 0
    mix_ratio: [5, 15]
    llm: !new:cosyvoice.llm.llm.Qwen2Encoder
        pretrain_path: !ref <qwen_pretrain_path>
    sampling: !name:cosyvoice.utils.common.ras_sampling
        top_p: 0.8
        top_k: 25
        win_size: 10
        tau_r: 0.1

flow: !new:cosyvoice.flow.flow.CausalMaskedDiffWithDiT
    input_size: 80
    output_size: 80
    spk_embed_dim: !ref <spk_embed_dim>
    output_type: 'mel'
    vocab_size: {speech_tokens}
    input_frame_rate: !ref <token_frame_rate>
    only_mask_loss: True
    token_mel_ratio: !ref <token_mel_ratio>
    pre_lookahead_len: 3
    pre_lookahead_layer: !new:cosyvoice.transformer.upsample_encoder.PreLookaheadLayer
        in_channels: 80
        channels: 64
        pre_lookahead_len: 3
    decoder: !new:cosyvoice.flow.flow_matching.CausalConditionalCFM
        in_channels: 240
        n_spks: 1
        spk_emb_dim: 80
        cfm_params: !new:omegaconf.DictConfig
            content:
                sigma_min: 1e-06
                solver: 'euler'
                t_scheduler: 'cosine'
                training_cfg_rate: 0.2
                inference_cfg_rate: 0.7
                reg_loss_type: 'l1'
        estimator: !new:cosyvoice.flow.DiT.dit.DiT
            dim: 64
            depth: 2
            heads: 2
            dim_head: 32
            ff_mult: 2
            mel_dim: 80
            mu_dim: 80
            spk_dim: 80
            out_channels: 80
            static_chunk_size: !ref <chunk_size> * <token_mel_ratio>
            num_decoding_left_chunks: !ref <num_decoding_left_chunks>

hift: !new:cosyvoice.hifigan.generator.CausalHiFTGenerator
    in_channels: 80
    base_channels: 32
    nb_harmonics: 8
    sampling_rate: !ref <sample_rate>
    nsf_alpha: 0.1
    nsf_sigma: 0.003
    nsf_voiced_threshold: 10
    upsample_rates: [8, 5, 3]
    upsample_kernel_sizes: [16, 11, 7]
    istft_params:
        n_fft: 16
        hop_len: 4
    resblock_kernel_sizes: [3, 7, 11]
    resblock_dilation_sizes: [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
    source_resblock_kernel_sizes: [7, 7, 11]
    source_resblock_dilation_sizes: [[1, 3, 5], [1, 3, 5], [1, 3, 5]]
    lrelu_slope: 0.1
    audio_limit: 0.99
    conv_pre_look_right: 4
    f0_predictor: !new:cosyvoice.hifigan.f0_predictor.CausalConvRNNF0Predictor
        num_class: 1
        in_channels: 80
        cond_channels: 32

parquet_opener: !name:cosyvoice.dataset.processor.parquet_opener
get_tokenizer: !name:cosyvoice.tokenizer.tokenizer.get_qwen_tokenizer
    token_path: !ref <qwen_pretrain_path>
    skip_special_tokens: True
    version: cosyvoice3
allowed_special: 'all'
tokenize: !name:cosyvoice.dataset.processor.tokenize
    get_tokenizer: !ref <get_tokenizer>
    allowed_special: !ref <allowed_special>
feat_extractor: !name:matcha.utils.audio.mel_spectrogram
    n_fft: 1920
    num_mels: 80
    sampling_rate: !ref <sample_rate>
    hop_size: 480
    win_size: 1920
    fmin: 0
    fmax: null
    center: False
compute_f0: !name:cosyvoice.dataset.processor.compute_f0
    sample_rate: !ref <sample_rate>
    hop_size: 480
"""


# Upstream's CosyVoice3 LM checks for token id 151646 itself ("temporary hardcode, 151646 is <|endofprompt|>"): the
# id Qwen2's vocabulary gives the first token added after its 151,643 byte-level tokens and its three specials. So
# the tiny vocabulary has exactly that layout, its unused slots filled.
QWEN_BASE_VOCAB = 151_643
QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def _tokenizer(folder: Path) -> int:
    """A byte-level BPE in the files Qwen2's tokenizer class reads (vocab.json, merges.txt, tokenizer_config.json),
    laid out like Qwen2's own; returns the vocabulary size before upstream adds its special tokens."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS * 4, vocab_size=1200, min_frequency=1)
    bpe.save_model(str(folder))
    vocab = json.loads((folder / "vocab.json").read_text())
    vocab.update({f"<|unused_{n}|>": n for n in range(len(vocab), QWEN_BASE_VOCAB)})
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    added = {str(QWEN_BASE_VOCAB + i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                       "single_word": False, "special": True} for i, t in enumerate(QWEN_SPECIALS)}  # fmt: skip
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "Qwen2Tokenizer", "model_max_length": 32768, "added_tokens_decoder": added,
        "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": None, "bos_token": None,
        "errors": "replace", "clean_up_tokenization_spaces": False,
    }))  # fmt: skip
    return QWEN_BASE_VOCAB + len(QWEN_SPECIALS)


def _qwen2(folder: Path, vocab_size: int) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=vocab_size, hidden_size=HIDDEN, intermediate_size=2 * HIDDEN, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                         tie_word_embeddings=True)  # fmt: skip
    Qwen2ForCausalLM(config).save_pretrained(folder)


def _onnx(path: Path, nodes: list, inputs: list, outputs: list, initializers: list) -> None:
    import onnx

    graph = onnx.helper.make_graph(nodes, path.stem, inputs, outputs, initializers)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime releases of the last two years all read
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _campplus(path: Path) -> None:
    """fbank [1, T, 80] → mean over time → a fixed projection → embedding [1, 192]."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    weight = numpy_helper.from_array(rng.standard_normal((80, 192)).astype(np.float32) * 0.1, "w")
    nodes = [helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1], keepdims=0),
             helper.make_node("MatMul", ["mean", "w"], ["output"])]  # fmt: skip
    _onnx(path, nodes, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, "T", 80])],
          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 192])], [weight])  # fmt: skip


def _speech_tokenizer(path: Path, classes: int = 64) -> None:
    """whisper log-mel [1, 128, T] (100 frames/s) and its length → one token per 4 frames (25 Hz), as v3 emits."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    weight = numpy_helper.from_array(rng.standard_normal((128, classes)).astype(np.float32), "w")
    starts, ends, axes, steps = (numpy_helper.from_array(np.array([v], dtype=np.int64), n)
                                 for v, n in ((0, "starts"), (2**62, "ends"), (1, "axes"), (4, "steps")))  # fmt: skip
    nodes = [
        helper.make_node("Transpose", ["feats"], ["frames"], perm=[0, 2, 1]),
        helper.make_node("Slice", ["frames", "starts", "ends", "axes", "steps"], ["every4"]),
        helper.make_node("MatMul", ["every4", "w"], ["scores"]),
        helper.make_node("ArgMax", ["scores"], ["indices"], axis=2, keepdims=0),
        helper.make_node("Cast", ["indices"], ["tokens"], to=TensorProto.INT32),
    ]
    _onnx(path, nodes,
          [helper.make_tensor_value_info("feats", TensorProto.FLOAT, [1, 128, "T"]),
           helper.make_tensor_value_info("feats_length", TensorProto.INT32, [1])],
          [helper.make_tensor_value_info("tokens", TensorProto.INT32, [1, "N"])],
          [weight, starts, ends, axes, steps])  # fmt: skip


def _stop_at_min_len(llm: object) -> None:
    """Make the random LM end every line where upstream first lets it, as a trained model ends a line once said.

    Upstream's CosyVoice3LM breaks on any of its 200 ids from ``speech_token_size`` up, but before ``min_len``
    (two tokens per text token) it masks only ``speech_token_size`` itself (``Qwen2LM.sampling_ids``). Random weights
    then end about one step in thirty: a line of no tokens or two makes a mel too short for the vocoder's causal
    convolution ("Kernel size can't be greater than actual input size"), by chance, in whichever test drew it.

    So one hidden dimension carries a constant: every speech-token embedding (all the LM is fed while it decodes)
    has it, and it dominates the residual stream, so after the final RMSNorm it is nearly the same for every step.
    The decoder reads it only in the stop rows: up for ``speech_token_size`` (masked until ``min_len``, then the top
    choice), down for the other stop ids (never drawn). Speech tokens stay random; every line is ``min_len`` long."""
    import torch

    dim, level, weight = 0, 50.0, 2.0
    stops = slice(SPEECH_TOKENS, None)
    with torch.no_grad():
        llm.speech_embedding.weight[:, dim] = level  # type: ignore[attr-defined]
        decoder = llm.llm_decoder.weight  # type: ignore[attr-defined]
        decoder[:, dim] = 0.0
        decoder[stops] = 0.0
        decoder[SPEECH_TOKENS, dim] = weight
        decoder[SPEECH_TOKENS + 1 :, dim] = -weight


def build(model_dir: Path) -> Path:
    """Write a loadable CosyVoice3 model directory into ``model_dir`` (upstream must be importable)."""
    import torch
    from hyperpyyaml import load_hyperpyyaml

    model_dir.mkdir(parents=True, exist_ok=True)
    blank = model_dir / "CosyVoice-BlankEN"
    blank.mkdir(exist_ok=True)
    base = _tokenizer(blank)
    # Room for upstream's ~300 added special tokens on top of the BPE's own.
    _qwen2(blank, vocab_size=base + 512)
    yaml = YAML.format(hidden=HIDDEN, speech_tokens=SPEECH_TOKENS)
    (model_dir / "cosyvoice3.yaml").write_text(yaml)
    torch.manual_seed(0)
    configs = load_hyperpyyaml(yaml, overrides={"qwen_pretrain_path": str(blank)})
    _stop_at_min_len(configs["llm"])
    for name in ("llm", "flow", "hift"):
        torch.save(configs[name].state_dict(), model_dir / f"{name}.pt")
    _campplus(model_dir / "campplus.onnx")
    _speech_tokenizer(model_dir / "speech_tokenizer_v3.onnx")
    return model_dir
