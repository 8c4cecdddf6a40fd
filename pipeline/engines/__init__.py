"""Speech engines behind one interface (``base.Engine``) and the registry that picks one per line."""

from pipeline.engines.base import (
    Capabilities,
    Engine,
    EngineError,
    SynthesisRequest,
    SynthesisResult,
    UnsupportedInputError,
    VoiceRef,
)

__all__ = [
    "Capabilities",
    "Engine",
    "EngineError",
    "SynthesisRequest",
    "SynthesisResult",
    "UnsupportedInputError",
    "VoiceRef",
]
