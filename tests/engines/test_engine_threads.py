"""Engines that are not thread-safe speak one line at a time even on a worker with several threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pipeline.engines.base import Capabilities, Engine, SynthesisRequest, VoiceRef
from pipeline.text.markup import parse
from pipeline.text.style import parse_style


class Overlapping(Engine):
    name = "overlapping"

    def __init__(self, thread_safe: bool):
        super().__init__()
        self.capabilities = Capabilities(languages=frozenset({"en"}), thread_safe=thread_safe)
        self.active = 0
        self.most = 0
        self.guard = threading.Lock()

    @property
    def model_version(self) -> str:
        return "test/1"

    def _fingerprint(self) -> str:
        return "overlapping/1"

    def _load(self) -> None:
        pass

    def _synthesize(self, request: SynthesisRequest) -> tuple[np.ndarray, list[str]]:
        with self.guard:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.05)
        with self.guard:
            self.active -= 1
        return np.full(160, 0.1, dtype=np.float32), []


@pytest.mark.parametrize(("thread_safe", "most"), [(False, 1), (True, 4)])
def test_lines_overlap_only_on_thread_safe_engines(thread_safe: bool, most: int) -> None:
    engine = Overlapping(thread_safe)
    engine.load()
    request = SynthesisRequest(utterance=parse("Hello."), lang="en", voice=VoiceRef("v"), style=parse_style(""))
    barrier = threading.Barrier(4)

    def speak(_: int) -> None:
        barrier.wait()
        engine.synthesize(request)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(speak, range(4)))
    assert engine.most == most
