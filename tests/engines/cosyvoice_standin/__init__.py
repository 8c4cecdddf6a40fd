"""A stand-in for upstream CosyVoice (github.com/FunAudioLLM/CosyVoice) with the same dotted layout.

``cli/cosyvoice.py`` has ``AutoModel``, ``CosyVoice``, ``CosyVoice2`` and ``CosyVoice3`` with upstream's exact
constructor and inference signatures; ``utils/common.py`` has ``set_all_random_seed``. No weights, no torch:
every call is recorded and the audio is a deterministic sine whose length follows the text and the speed.
"""
