"""A real engine registered through ``engines.custom`` whose behaviour is driven by the line's text.

It runs inside real Dask workers (no mocks): ``BOOM`` raises, ``NAN`` returns NaN the first time this worker says
it (a re-seed fixes it), ``HUSH`` is always silent, ``SLOW`` takes half a second, anything else is a short tone.
"""

from __future__ import annotations

import os
import time

import numpy as np

from pipeline.engines.base import Capabilities, Engine, EngineError, SynthesisRequest
from pipeline.text.markup import plain


class FaultyEngine(Engine):
    name = "faulty"

    def __init__(self) -> None:
        super().__init__()
        self.capabilities = Capabilities(languages=frozenset({"en"}), sample_rate=16000)
        self._seen: set[str] = set()

    def _load(self) -> None:
        pass

    @property
    def model_version(self) -> str:
        return "faulty-1"

    def _fingerprint(self) -> str:
        return "faulty-1"

    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        text = plain(request.utterance)
        if "BOOM" in text:
            raise EngineError(f"faulty: cannot say {text!r} (pid {os.getpid()})")
        if "HUSH" in text:
            return np.zeros(8000, np.float32), []
        if "NAN" in text and text not in self._seen:
            self._seen.add(text)
            return np.full(8000, np.nan, np.float32), []
        if "SLOW" in text:
            time.sleep(0.5)
        t = np.arange(8000) / 16000
        return (0.2 * np.sin(2 * np.pi * (200 + 10 * len(text)) * t)).astype(np.float32), []


class GpuOnlyEngine(FaultyEngine):
    """Says it needs a GPU: the fan-out must not queue its lines on a cluster without GPU workers."""

    name = "gpuonly"

    def __init__(self) -> None:
        super().__init__()
        self.capabilities = Capabilities(languages=frozenset({"en"}), sample_rate=16000, needs_gpu=True)


class CloningEngine(FaultyEngine):
    """Says it clones from the reference clip, as CosyVoice does: its lines' keys depend on the clip and transcript."""

    name = "cloning"

    def __init__(self) -> None:
        super().__init__()
        self.capabilities = Capabilities(languages=frozenset({"en"}), sample_rate=16000, cloning=True)
