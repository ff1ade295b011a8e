"""What crosses the wire between a decision client and a decision server.

Every request and reply is one ZeroMQ message part holding one msgpack map;
numpy arrays and scalars travel with :mod:`msgpack_numpy` (dtype, shape and raw
bytes: a float64 comes back bit for bit, so a remote decision is the local one).

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
import msgpack_numpy

from autoscope import errors
from autoscope.errors import DecisionServerError

__all__ = [
    "METHODS",
    "PROTOCOL",
    "decode",
    "encode",
    "error_from_reply",
    "error_reply",
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


def encode(message: dict[str, Any]) -> bytes:
    """Pack one message (numpy arrays included) into bytes."""
    return msgpack.packb(message, default=msgpack_numpy.encode, use_bin_type=True)


def decode(data: bytes) -> dict[str, Any]:
    """Unpack one message; raise :class:`DecisionServerError` for anything but a map."""
    try:
        out = msgpack.unpackb(
            data, object_hook=msgpack_numpy.decode, raw=False, strict_map_key=False
        )
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
