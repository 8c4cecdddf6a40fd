"""A Piper retake must sound different from the take a reviewer rejected, while take 0 stays deterministic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.engines.conftest import assert_speech, request

SENTENCE = "The ferry leaves at dawn, and the town grows small behind us."


def _differs(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape != b.shape or not np.allclose(a, b, atol=1e-3)


def test_a_retake_samples_noise_so_it_differs_from_the_original_take(piper_engine) -> None:
    original = request(SENTENCE, "en", seed=3)
    take0 = piper_engine.synthesize(original).samples
    assert np.array_equal(take0, piper_engine.synthesize(replace(original, take=0)).samples)  # still deterministic
    retake = piper_engine.synthesize(replace(original, take=1))
    assert_speech(retake, 2.0, 6.0)
    assert _differs(retake.samples, take0)
    # The seed does not reach Piper's noise: even the same seed gives another take once the take is non-zero.
    assert _differs(retake.samples, piper_engine.synthesize(replace(original, take=1)).samples)
