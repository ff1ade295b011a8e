"""What crosses the wire between a decision client and a decision server.

Every request and reply is one ZeroMQ message part holding one msgpack map;
numpy arrays and scalars travel as maps of dtype, shape and raw bytes (a float64
comes back bit for bit, so a remote decision is the local one). Only numeric and
boolean dtypes are accepted: no object arrays, so nothing is ever unpickled
(``msgpack_numpy`` would unpickle an object array from any peer).

Requests: ``{"protocol": PROTOCOL, "id": int, "op": str, ...}`` with ``op`` one of

- ``"hello"``: the server's protocol and autoscope versions, host and sessions;
- ``"validate"``: ``{"kind": "model", "spec": ...}`` normalised on the server (a
  model spec may name a device only the server has);
- ``"open"``: ``{"image": (H, W[, C]) array, "config": dict}``: build a recommender,
  reply with its session id, candidates (N, 2) and config;
- ``"call"``: ``{"session": str, "method": str, "args": list}``: one method of
  :data:`METHODS` on that session's recommender;
- ``"close"``: ``{"session": str}``: forget the session.

Replies: ``{"id": int, "ok": True, "result": ..., "state": {...}}`` (``state``: the
recommender's ``pending`` ids and, after ``suggest``, its ``last_decision``), or
``{"id": int, "ok": False, "error": class name, "message": str}``. An error of
:mod:`autoscope.errors` or a builtin exception comes back as the same class
(:func:`error_from_reply`).
"""

from __future__ import annotations

import builtins
from typing import Any

import msgpack
import numpy as np

from autoscope import errors
from autoscope.errors import DecisionServerError

__all__ = [
    "METHODS",
    "PROTOCOL",
    "decode",
    "encode",
    "error_from_reply",
    "error_reply",
    "ids_or_mask",
]

#: version of this message layout; client and server refuse each other when they differ
PROTOCOL = 1

#: recommender methods a client may call (``"get:<name>"`` reads a property, ``"set:policy"``
#: assigns the policy); nothing else on the server is reachable
METHODS = frozenset(
    {
        "suggest", "ingest", "predict", "acquisition", "should_stop", "clear_pending",
        "set_pending", "exclude", "include", "set_dwell", "replace_values", "set_model",
        "get:config", "get:measured_ids", "get:values", "get:policy", "set:policy",
    }
)  # fmt: skip

#: builtin exception classes a server error may come back as
_BUILTINS = (
    "ValueError", "TypeError", "KeyError", "IndexError", "RuntimeError",
    "NotImplementedError", "ArithmeticError", "ZeroDivisionError", "MemoryError",
)  # fmt: skip


#: dtype kinds that may cross the wire: bool, integers, floats, complex
_KINDS = "biufc"


def _pack(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | np.generic):
        arr = np.asarray(obj)
        if arr.dtype.kind not in _KINDS:
            raise TypeError(f"cannot send a numpy array of dtype {arr.dtype}")
        key = "__ndarray__" if isinstance(obj, np.ndarray) else "__npscalar__"
        return {key: arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}
    raise TypeError(f"cannot send an object of type {type(obj).__name__}")


def _unpack(obj: dict[Any, Any]) -> Any:
    key = (
        "__ndarray__" if "__ndarray__" in obj else "__npscalar__" if "__npscalar__" in obj else None
    )
    if key is None:
        return obj
    dtype = np.dtype(str(obj[key]))
    if dtype.kind not in _KINDS:
        raise ValueError(f"refused dtype {dtype}")
    shape = tuple(int(n) for n in obj["shape"])
    arr = np.frombuffer(obj["data"], dtype=dtype).reshape(shape).copy()
    return arr if key == "__ndarray__" else arr[()]


def encode(message: dict[str, Any]) -> bytes:
    """Pack one message (numeric numpy arrays and scalars included) into bytes."""
    return msgpack.packb(message, default=_pack, use_bin_type=True)


def decode(data: bytes) -> dict[str, Any]:
    """Unpack one message; raise :class:`DecisionServerError` for anything but a valid map."""
    try:
        out = msgpack.unpackb(data, object_hook=_unpack, raw=False, strict_map_key=False)
    except Exception as exc:  # any malformed payload: one clear error, never a crash
        raise DecisionServerError(f"not an autoscope decision message: {exc}") from None
    if not isinstance(out, dict):
        raise DecisionServerError(f"not an autoscope decision message: {type(out).__name__}")
    return out


def error_reply(request_id: Any, exc: BaseException) -> dict[str, Any]:
    """Return the reply that carries ``exc`` back to the client."""
    return {"id": request_id, "ok": False, "error": type(exc).__name__, "message": str(exc)}


def error_from_reply(reply: dict[str, Any]) -> Exception:
    """Rebuild the server's exception: the same class when it is autoscope's or a builtin.

    Anything else (an exception of a library on the server) becomes a
    :class:`~autoscope.errors.DecisionServerError` naming the class, so that the
    exploration session records it as a model failure.
    """
    name, message = str(reply.get("error", "")), str(reply.get("message", ""))
    cls = getattr(errors, name, None) if name in errors.__all__ else None
    if cls is None and name in _BUILTINS:
        cls = getattr(builtins, name)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(message)
    return DecisionServerError(f"the decision server raised {name}: {message}")


def ids_or_mask(where: Any) -> Any:
    """Encode a region for the wire: a boolean mask as is, anything else as a list of ids."""
    arr = np.asarray(where)
    return arr if arr.dtype == bool else [int(i) for i in arr.ravel()]
