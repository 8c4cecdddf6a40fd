"""An upstream checkout from before ``AutoModel``: only the model classes."""

from tests.engines.cosyvoice_standin.cli.cosyvoice import CosyVoice, CosyVoice2, CosyVoice3

__all__ = ["CosyVoice", "CosyVoice2", "CosyVoice3"]
