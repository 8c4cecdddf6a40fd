"""Which engine speaks a line: the voice's own engine first, then the language's fallback order from config.

Engines are created and loaded once per process (a Dask worker plugin holds one registry). A line that no
enabled engine can speak fails with every engine that was tried and why, never with silence.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pipeline.engines.base import Capabilities, Engine, EngineError
from pipeline.settings import EngineSettings

KNOWN_ENGINES = ("cosyvoice", "piper", "mandarin", "kokoro", "espeak")


class NoEngineError(EngineError):
    pass


def _factories(settings: EngineSettings, prompt_store: Any = None) -> dict[str, Callable[[], Engine]]:
    def piper() -> Engine:
        from pipeline.engines.piper import PiperEngine

        return PiperEngine(settings.piper.voices_dir, settings.piper.default_voice, settings.piper.num_threads)

    def mandarin() -> Engine:
        from pipeline.engines.mandarin import MandarinEngine

        return MandarinEngine(settings.mandarin.cache_dir, settings.mandarin.num_threads)

    def kokoro() -> Engine:
        from pipeline.engines.kokoro import KokoroEngine

        k = settings.kokoro
        return KokoroEngine(k.cache_dir, k.num_threads, k.default_voice)

    def espeak() -> Engine:
        from pipeline.engines.espeak import EspeakEngine

        return EspeakEngine()

    def cosyvoice() -> Engine:
        if settings.cosyvoice.model_dir is None:
            raise EngineError("cosyvoice: engines.cosyvoice.model_dir is not set")
        from pipeline.engines.cosyvoice import CosyVoiceEngine

        return CosyVoiceEngine(
            settings.cosyvoice.model_dir,
            fp16=settings.cosyvoice.fp16,
            load_trt=settings.cosyvoice.load_trt,
            load_vllm=settings.cosyvoice.load_vllm,
            compile_dir=settings.cosyvoice.compile_dir,
            prompt_store=prompt_store,
        )

    factories = {"piper": piper, "mandarin": mandarin, "kokoro": kokoro, "espeak": espeak, "cosyvoice": cosyvoice}
    for name, target in settings.custom.items():
        factories[name] = _import_factory(name, target)
    return factories


def _import_factory(name: str, target: str) -> Callable[[], Engine]:
    """``package.module:Class`` from ``engines.custom``: a studio's own engine, imported where it is used."""

    def make() -> Engine:
        module_name, _, attr = target.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise EngineError(f"{name}: cannot import custom engine '{target}': {exc}") from exc
        engine = factory()
        if not isinstance(engine, Engine):
            raise EngineError(f"{name}: '{target}' did not make an Engine")
        return engine

    return make


class EngineRegistry:
    def __init__(
        self,
        settings: EngineSettings,
        factories: dict[str, Callable[[], Engine]] | None = None,
        prompt_store: Any = None,  # pipeline.engines.cosyvoice.PromptStore: extracted speaker prompts
    ):
        known = (*KNOWN_ENGINES, *settings.custom)
        unknown = sorted(set(settings.enabled) - set(known))
        if unknown:
            raise ValueError(f"engines.enabled: unknown engine(s) {unknown} (known: {', '.join(known)})")
        self.settings = settings
        self._factories = factories or _factories(settings, prompt_store)
        self._instances: dict[str, Engine] = {}  # constructed, maybe not loaded
        self._engines: dict[str, Engine] = {}  # loaded
        self._failed: dict[str, str] = {}
        self._fingerprints: dict[str, str] = {}

    def _instance(self, name: str) -> Engine:
        """The engine object, constructed but not loaded (cheap): enough for fingerprints and capabilities."""
        if name not in self.settings.enabled:
            raise EngineError(f"{name} is not enabled (engines.enabled: {', '.join(self.settings.enabled)})")
        if name in self._failed:
            raise EngineError(self._failed[name])
        if name not in self._instances:
            try:
                self._instances[name] = self._factories[name]()
            except EngineError as exc:
                self._failed[name] = str(exc)
                raise
        return self._instances[name]

    def available(self) -> list[str]:
        """Enabled engines that can at least be constructed here (configured, importable)."""
        names = []
        for name in self.settings.enabled:
            try:
                self._instance(name)
            except EngineError:
                continue
            names.append(name)
        return names

    def fingerprint(self, name: str) -> str:
        if name not in self._fingerprints:
            self._fingerprints[name] = self._instance(name).fingerprint()
        return self._fingerprints[name]

    def speaks(self, name: str, lang: str) -> bool:
        """Does engine ``name`` have a voice for ``lang``, by its declared capabilities (nothing is loaded)?"""
        return self._instance(name).capabilities.speaks(lang)

    def clones(self, name: str) -> bool:
        """Does engine ``name`` speak in the voice of a reference clip (rather than a voice of its own)?"""
        return self._instance(name).capabilities.cloning

    def capabilities(self, name: str) -> Capabilities:
        """What engine ``name`` can do, without loading its model."""
        return self._instance(name).capabilities

    def needs_gpu(self, name: str) -> bool:
        return self._instance(name).capabilities.needs_gpu

    def get(self, name: str) -> Engine:
        """The loaded engine ``name``; raises ``EngineError`` saying why it is not available."""
        if name not in self._engines:
            engine = self._instance(name)
            try:
                engine.load()
            except EngineError as exc:
                self._failed[name] = str(exc)
                raise
            self._engines[name] = engine
        return self._engines[name]

    def load_all(self) -> dict[str, str | None]:
        """Load every enabled engine now (worker start-up); returns name → error or None."""
        status: dict[str, str | None] = {}
        for name in self.settings.enabled:
            try:
                self.get(name)
                status[name] = None
            except EngineError as exc:
                status[name] = str(exc)
        return status

    def order(self, lang: str, voice_engine: str | None) -> list[str]:
        primary = lang.split("-", 1)[0]
        table = self.settings.fallback
        fallback = table.get(lang) or table.get(primary) or table.get("*", [])
        names = [voice_engine] if voice_engine else []
        return names + [n for n in fallback if n not in names]
