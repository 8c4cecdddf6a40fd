"""What upstream's CosyVoice2/3 model needs before two lines may share it, and before a failure can be seen.

Upstream runs each line's LLM decode on a thread of its own (``CosyVoice2Model.tts`` starts ``llm_job``) and joins
it before the vocoder. Two things found by the contract tests on upstream's real code:

* transformers 4.54–4.57 record ``output_hidden_states`` by patching the forward of every decoder layer for the
  length of one call (``check_model_inputs``; transformers issue #42673). Upstream's ``Qwen2Encoder`` asks for
  them on every decode step, so two lines decoding at once on one model undo each other's patches: a step gets
  ``hidden_states = None`` and its line's LLM thread dies.
* A dead LLM thread is not an error upstream: the thread's exception is printed, ``join`` returns, and the vocoder
  voices the tokens made so far: a line cut short, or (with none or one token) a convolution error that hides the
  cause.

So the decode steps of one model take turns (the flow and the vocoder of two lines still overlap), and an LLM
thread's failure is raised in the caller's thread, with its cause, before anything is voiced from its tokens.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any


class LLMThreadError(RuntimeError):
    """Upstream's LLM thread for a line failed; its tokens are incomplete."""


def decode_steps_take_turns(model: Any) -> bool:
    """Serialize the LLM's decode steps on ``model`` (an upstream CosyVoice2/3); False where it has none to guard."""
    encoder = getattr(getattr(getattr(model, "model", None), "llm", None), "llm", None)
    step = getattr(encoder, "forward_one_step", None)
    if step is None:
        return False
    lock = threading.Lock()

    @functools.wraps(step)
    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return step(*args, **kwargs)

    encoder.forward_one_step = one_at_a_time
    return True


def llm_failures_raise(model: Any) -> bool:
    """Make a failed LLM thread an exception of the line's own call; False where upstream's model lacks the hooks."""
    inner = getattr(model, "model", None)
    job: Callable[..., None] | None = getattr(inner, "llm_job", None)
    token2wav: Callable[..., Any] | None = getattr(inner, "token2wav", None)
    if inner is None or job is None or token2wav is None:
        return False
    failures: dict[str, BaseException] = {}

    @functools.wraps(job)
    def recorded_job(*args: Any, **kwargs: Any) -> None:
        uuid = kwargs["uuid"] if "uuid" in kwargs else args[-1]
        try:
            job(*args, **kwargs)
        except BaseException as exc:  # anything: the thread's end is its only report, and join() hides it
            failures[uuid] = exc
            inner.llm_end_dict[uuid] = True  # a streaming caller waits on this flag, not on the thread

    @functools.wraps(token2wav)
    def checked_token2wav(*args: Any, uuid: str, **kwargs: Any) -> Any:
        exc = failures.pop(uuid, None)
        if exc is not None:
            with inner.lock:  # upstream drops a line's state only after its last yield, which never comes now
                for state in (inner.tts_speech_token_dict, inner.llm_end_dict, inner.hift_cache_dict):
                    state.pop(uuid, None)
            raise LLMThreadError(f"upstream's LLM thread failed mid-line: {type(exc).__name__}: {exc}") from exc
        return token2wav(*args, uuid=uuid, **kwargs)

    inner.llm_job = recorded_job
    inner.token2wav = checked_token2wav
    return True
