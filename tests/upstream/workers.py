"""What one Dask worker does in the prompt-store test: load upstream's CosyVoice3 and speak one line."""

from __future__ import annotations

import sys
from typing import Any


def speak(upstream: str, model_dir: str, prompt_wav: str, transcript: str, storage: Any, connection: Any) -> dict:
    for path in (f"{upstream}/CosyVoice", f"{upstream}/Matcha-TTS"):
        if path not in sys.path:
            sys.path.insert(0, path)
    from distributed import get_worker

    from pipeline.engines.base import SynthesisRequest, VoiceRef
    from pipeline.engines.cosyvoice import CosyVoiceEngine
    from pipeline.storage.prompt_store import StagingPromptStore
    from pipeline.storage.store import ObjectStore
    from pipeline.text.markup import parse
    from pipeline.text.style import parse_style

    engine = CosyVoiceEngine(model_dir, prompt_store=StagingPromptStore(ObjectStore(connection, storage)))
    engine.load()
    extractors = ("_extract_speech_token", "_extract_spk_embedding", "_extract_speech_feat")
    counts = dict.fromkeys(extractors, 0)
    frontend = engine.upstream.frontend
    for name in extractors:
        original = getattr(frontend, name)

        def counted(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            counts[_name] += 1
            return _original(*args, **kwargs)

        setattr(frontend, name, counted)
    voice = VoiceRef("narrator", reference_wav=prompt_wav, reference_text=transcript, reference_lang="zh")
    request = SynthesisRequest(utterance=parse("收到好友从远方寄来的生日礼物。"), lang="zh", voice=voice,
                               style=parse_style(""), seed=11, line_id="L1")  # fmt: skip
    result = engine.synthesize(request)
    return {"worker": get_worker().address, "extractions": engine.prompt_extractions, "loads": engine.prompt_loads,
            "calls": counts, "samples": result.samples}  # fmt: skip
