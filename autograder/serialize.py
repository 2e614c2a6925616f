"""Plain-data exchange between the sandboxed runner and the grader: JSON plus ``.npz`` arrays.

Never pickle: the grader reads what untrusted code wrote, so it accepts only JSON (with size caps)
and numpy arrays loaded with ``allow_pickle=False``. Supported values: ``None``, booleans,
numbers, strings, numpy arrays, torch tensors (sent as arrays, restored as tensors), tuples, lists
and dicts with string keys. Anything else is sent as an opaque marker naming its type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

MAX_JSON_BYTES = 8 * 2**20
MAX_ARRAY_BYTES = 64 * 2**20


class Packer:
    """Collects arrays while turning a value into JSON-able structure."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _array(self, value: np.ndarray, kind: str) -> dict[str, Any]:
        key = f"a{len(self.arrays)}"
        if value.dtype == object:
            return {"__opaque__": "object array"}
        self.arrays[key] = np.ascontiguousarray(value).reshape(value.shape)  # keep 0-d arrays 0-d
        return {f"__{kind}__": key}

    def pack(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)):
            return {"__int__": int(value)}
        if isinstance(value, (float, np.floating)):
            return {"__float__": float(value)}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.ndarray):
            return self._array(value, "array")
        if hasattr(value, "detach") and hasattr(value, "numpy") and hasattr(value, "cpu"):
            return self._array(value.detach().cpu().numpy(), "tensor")
        if isinstance(value, tuple):
            return {"__tuple__": [self.pack(v) for v in value]}
        if isinstance(value, list):
            return [self.pack(v) for v in value]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"__dict__": {k: self.pack(v) for k, v in value.items()}}
        return {"__opaque__": type(value).__name__}


class Opaque:
    """Stands for a value that could not be sent (a module, a generator, ...)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def unpack(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [unpack(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__int__" in value:
        return int(value["__int__"])
    if "__float__" in value:
        return float(value["__float__"])
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__tensor__" in value:
        import torch

        return torch.from_numpy(np.array(arrays[value["__tensor__"]]))
    if "__tuple__" in value:
        return tuple(unpack(v, arrays) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: unpack(v, arrays) for k, v in value["__dict__"].items()}
    if "__opaque__" in value:
        return Opaque(str(value["__opaque__"]))
    raise ValueError(f"unknown record {sorted(value)}")


def save(path: Path, record: Any) -> None:
    """Write ``record`` as ``path.json`` (+ ``path.npz`` for its arrays)."""
    packer = Packer()
    structure = packer.pack(record)
    np.savez(path.with_suffix(".npz"), **packer.arrays)
    path.with_suffix(".json").write_text(json.dumps(structure))


def load(path: Path) -> Any:
    """Read what :func:`save` wrote, refusing oversized or non-plain data."""
    jpath, npath = path.with_suffix(".json"), path.with_suffix(".npz")
    if jpath.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{jpath.name} is larger than {MAX_JSON_BYTES} bytes")
    if npath.exists() and npath.stat().st_size > MAX_ARRAY_BYTES:
        raise ValueError(f"{npath.name} is larger than {MAX_ARRAY_BYTES} bytes")
    structure = json.loads(jpath.read_text())
    arrays: dict[str, np.ndarray] = {}
    if npath.exists():
        with np.load(npath, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    return unpack(structure, arrays)
