"""Stand-in for upstream ``cosyvoice/cli/cosyvoice.py`` (FunAudioLLM/CosyVoice, CosyVoice3 era).

Signatures are upstream's, parameter for parameter (names, order, defaults). What the stand-in keeps of upstream's
behaviour, because the adapter depends on it:

* ``AutoModel(**kwargs)`` picks the class by ``cosyvoice.yaml`` / ``cosyvoice2.yaml`` / ``cosyvoice3.yaml`` and
  would ``snapshot_download`` a missing directory (here: raises, so a test notices the adapter got that far);
* ``sample_rate`` comes from the model's yaml (``sample_rate: N``; 24000 for v2/v3 when absent);
* the frontend's speaker cache (``model.frontend.spk2info``): ``frontend_zero_shot`` returns a copy of the cached
  entry (upstream since 3b44913), ``frontend_cross_lingual`` deletes the prompt keys from that copy;
  ``frontend_instruct2`` with a cached id conditions on the cached transcript, not the instruction
  (``cosyvoice/cli/frontend.py``); ``frontend.text_normalize(text, split=False)`` returns the text;
* CosyVoice3's zero-shot warning when ``<|endofprompt|>`` is in neither prompt_text nor tts_text;
* each inference method is a generator of ``{'tts_speech': (1, T)}``.

Every call is appended to ``model.calls`` as ``(method, {parameter: value})`` with the defaults filled in.
``model.fault = "nan" | "silent"`` makes the audio NaN / all zeros (the fp16 field failure).
"""

from __future__ import annotations

import os
import re

import numpy as np

SECONDS_PER_CHAR = 0.08
ENDOFPROMPT = "<|endofprompt|>"


class Frontend:
    def __init__(self) -> None:
        self.spk2info: dict[str, dict] = {}
        self.normalized: list[str] = []

    def text_normalize(self, text, split=True, text_frontend=True):
        self.normalized.append(text)
        return text if not split else [text]


class Tensor:
    """The bits of ``torch.Tensor`` an adapter may touch on ``tts_speech``."""

    def __init__(self, array: np.ndarray):
        self._array = array

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    def detach(self) -> Tensor:
        return self

    def cpu(self) -> Tensor:
        return self

    def float(self) -> Tensor:
        return Tensor(self._array.astype(np.float32))

    def numpy(self) -> np.ndarray:
        return self._array


class CosyVoice:
    yaml_name = "cosyvoice.yaml"
    default_sample_rate = 22050

    def __init__(self, model_dir, load_jit=False, load_trt=False, fp16=False, trt_concurrent=1):
        self._setup(locals())

    # ------------------------------------------------------------------ bookkeeping (not upstream API)

    def _setup(self, init_args: dict) -> None:
        init_args = {k: v for k, v in init_args.items() if k not in ("self", "__class__")}
        model_dir = init_args["model_dir"]
        if not os.path.exists(model_dir):
            raise RuntimeError(f"stand-in: upstream would snapshot_download({model_dir!r}) here")
        yaml_path = f"{model_dir}/{self.yaml_name}"
        if not os.path.exists(yaml_path):
            raise ValueError(f"{yaml_path} not found!")
        with open(yaml_path, encoding="utf-8") as f:
            match = re.search(r"^sample_rate:\s*(\d+)", f.read(), re.M)
        self.model_dir = model_dir
        self.fp16 = init_args["fp16"]
        self.sample_rate = int(match.group(1)) if match else self.default_sample_rate
        self.calls: list[tuple[str, dict]] = [("__init__", init_args)]
        self.warnings: list[str] = []
        self.frontend = Frontend()
        self.fault: str | None = None

    def _record(self, method: str, args: dict) -> dict:
        call = {k: v for k, v in args.items() if k != "self"}
        self.calls.append((method, call))
        return call

    def _frontend_zero_shot(self, prompt_text, prompt_wav, zero_shot_spk_id) -> dict:
        if zero_shot_spk_id == "":
            if not os.path.isfile(prompt_wav):  # upstream: load_wav(prompt_wav, 16000) fails
                raise FileNotFoundError(prompt_wav)
            return {"prompt_text": prompt_text, "llm_prompt_speech_token": prompt_wav, "flow_embedding": prompt_wav}
        return {**self.frontend.spk2info[zero_shot_spk_id]}  # a copy, as upstream since 3b44913

    def _speech(self, call: dict, text: str, speed: float):
        spoken = text.split(ENDOFPROMPT)[-1]
        n = max(2, round(len(spoken) * SECONDS_PER_CHAR * self.sample_rate / speed))
        wav = (0.3 * np.sin(2 * np.pi * 220.0 * np.arange(n) / self.sample_rate)).astype(np.float32)
        if self.fault == "nan":
            wav[n // 2] = np.nan
        elif self.fault == "silent":
            wav[:] = 0.0
        call["samples"] = n
        # upstream yields per sentence / chunk: a numpy chunk, then a tensor-like one
        yield {"tts_speech": wav[None, : n // 2]}
        yield {"tts_speech": Tensor(wav[None, n // 2 :])}

    # ------------------------------------------------------------------ upstream API

    def add_zero_shot_spk(self, prompt_text, prompt_wav, zero_shot_spk_id):
        self._record("add_zero_shot_spk", locals())
        assert zero_shot_spk_id != "", "do not use empty zero_shot_spk_id"
        model_input = self._frontend_zero_shot(prompt_text, prompt_wav, "")
        self.frontend.spk2info[zero_shot_spk_id] = model_input
        return True

    def inference_zero_shot(
        self, tts_text, prompt_text, prompt_wav, zero_shot_spk_id="", stream=False, speed=1.0, text_frontend=True
    ):
        call = self._record("inference_zero_shot", locals())
        if type(self).__name__ == "CosyVoice3" and ENDOFPROMPT not in prompt_text + tts_text:
            self.warnings.append("<|endofprompt|> not found in CosyVoice3 inference, check your input text")
        model_input = self._frontend_zero_shot(prompt_text, prompt_wav, zero_shot_spk_id)
        call["conditioned_on"] = (model_input["prompt_text"], model_input["llm_prompt_speech_token"])
        yield from self._speech(call, tts_text, speed)

    def inference_cross_lingual(
        self, tts_text, prompt_wav, zero_shot_spk_id="", stream=False, speed=1.0, text_frontend=True
    ):
        call = self._record("inference_cross_lingual", locals())
        model_input = self._frontend_zero_shot("", prompt_wav, zero_shot_spk_id)
        del model_input["prompt_text"]
        del model_input["llm_prompt_speech_token"]
        call["conditioned_on"] = None
        yield from self._speech(call, tts_text, speed)


class CosyVoice2(CosyVoice):
    yaml_name = "cosyvoice2.yaml"
    default_sample_rate = 24000

    def __init__(self, model_dir, load_jit=False, load_trt=False, load_vllm=False, fp16=False, trt_concurrent=1):
        self._setup(locals())

    def inference_instruct2(
        self, tts_text, instruct_text, prompt_wav, zero_shot_spk_id="", stream=False, speed=1.0, text_frontend=True
    ):
        call = self._record("inference_instruct2", locals())
        model_input = self._frontend_zero_shot(instruct_text, prompt_wav, zero_shot_spk_id)
        del model_input["llm_prompt_speech_token"]
        call["conditioned_on"] = model_input["prompt_text"]
        yield from self._speech(call, tts_text, speed)


class CosyVoice3(CosyVoice2):
    yaml_name = "cosyvoice3.yaml"

    def __init__(self, model_dir, load_trt=False, load_vllm=False, fp16=False, trt_concurrent=1):
        self._setup(locals())


def AutoModel(**kwargs):
    if not os.path.exists(kwargs["model_dir"]):
        raise RuntimeError(f"stand-in: upstream would snapshot_download({kwargs['model_dir']!r}) here")
    if os.path.exists("{}/cosyvoice.yaml".format(kwargs["model_dir"])):
        return CosyVoice(**kwargs)
    elif os.path.exists("{}/cosyvoice2.yaml".format(kwargs["model_dir"])):
        return CosyVoice2(**kwargs)
    elif os.path.exists("{}/cosyvoice3.yaml".format(kwargs["model_dir"])):
        return CosyVoice3(**kwargs)
    else:
        raise TypeError("No valid model type found!")
