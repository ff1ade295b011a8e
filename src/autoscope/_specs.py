"""JSON specs ``{"name": ..., "params": {...}}``: the one way pluggable pieces are named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoscope.errors import InputDataError

__all__ = ["split_spec"]


def split_spec(spec: Any, what: str) -> tuple[str, dict[str, Any]]:
    """Return ``(name, params)`` of a name or a ``{"name", "params"}`` dict.

    Parameters
    ----------
    spec : str or mapping
        A registered name, or ``{"name": str, "params": dict}`` (``params`` optional).
    what : str
        What is specified (``"model"``, ``"policy"``), for the error messages.

    Raises
    ------
    ValueError
        Anything else, extra keys, or ``params`` that is not a dict.
    """
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        if "name" not in spec or set(spec) - {"name", "params"}:
            raise InputDataError(
                f"a {what} spec is {{'name': str, 'params': dict}}, got keys {sorted(spec)}"
            )
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise InputDataError(f"{what} spec 'params' must be a dict, got {params!r}")
        return spec["name"], dict(params)
    raise InputDataError(f"a {what} is a name or a {{'name', 'params'}} dict, got {spec!r}")
