"""numpy arrays as msgpack-friendly dicts (dtype, shape, raw bytes): exact and fast to (de)serialise."""

from __future__ import annotations

from typing import Any

import numpy


def encode_array(array: Any) -> dict[str, Any]:
    arr = numpy.ascontiguousarray(array)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}


def decode_array(data: dict[str, Any]) -> numpy.ndarray:
    flat = numpy.frombuffer(data["data"], dtype=numpy.dtype(data["dtype"]))
    return flat.reshape(data["shape"]).copy()
