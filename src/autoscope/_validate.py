"""Small shared helpers for validating arguments and writing JSON metadata (numpy only)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["check_int", "jsonable"]


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int if ``low <= value (<= high)``, else raise ``ValueError``.

    Raises
    ------
    InputDataError
        Not an integer (bools rejected), or out of range; the message names ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputDataError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise InputDataError(f"{name} must be {bounds}, got {value}")
    return int(value)


def jsonable(value: Any) -> Any:
    """Convert numpy values, tuples and mappings to plain JSON types (non-finite floats → None)."""
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
