"""Parameter checks shared by the scalarizer library (raise ValueError naming the problem)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = [
    "check_band",
    "check_choice",
    "check_int",
    "check_number",
    "first_reason",
    "reason_array",
    "split_finite",
]


def check_number(
    name: str, value: Any, *, minimum: float | None = None, strict: bool = False
) -> None:
    """Raise unless ``value`` is a finite real number (optionally ≥ / > ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputDataError(f"parameter {name!r} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise InputDataError(f"parameter {name!r} must be finite, got {value!r}")
    if minimum is not None:
        if strict and not value > minimum:
            raise InputDataError(f"parameter {name!r} must be > {minimum}, got {value!r}")
        if not strict and not value >= minimum:
            raise InputDataError(f"parameter {name!r} must be >= {minimum}, got {value!r}")


def check_int(name: str, value: Any, *, minimum: int = 0) -> None:
    """Raise unless ``value`` is an integer ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputDataError(f"parameter {name!r} must be an integer, got {value!r}")
    if value < minimum:
        raise InputDataError(f"parameter {name!r} must be >= {minimum}, got {value!r}")


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    """Raise unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise InputDataError(f"parameter {name!r} must be one of {list(choices)}, got {value!r}")


def check_band(
    axis: np.ndarray | None, low: Any, high: Any, *, label: str = "band", min_points: int = 2
) -> None:
    """Check an axis interval ``[low, high]``: numbers, ordered, inside the axis.

    Raises
    ------
    ValueError
        Non-numeric bounds, ``low >= high``, an interval outside the axis range,
        or fewer than ``min_points`` axis points inside it.
    """
    check_number(f"{label} low", low)
    check_number(f"{label} high", high)
    if not low < high:
        raise InputDataError(f"{label} must have low < high, got low={low}, high={high}")
    if axis is not None:
        lo, hi = float(np.min(axis)), float(np.max(axis))
        if low < lo or high > hi:
            raise InputDataError(
                f"{label} [{low}, {high}] lies outside the axis range [{lo}, {hi}]"
            )
        n = int(np.count_nonzero((axis >= low) & (axis <= high)))
        if n < min_points:
            raise InputDataError(
                f"{label} [{low}, {high}] holds {n} axis point(s); at least {min_points} needed"
            )


def split_finite(spectra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero the spectra holding non-finite values (so no arithmetic warns) and flag them.

    Parameters
    ----------
    spectra : ndarray, shape (n, ...)

    Returns
    -------
    safe : ndarray, shape (n, ...)
        ``spectra`` with every non-finite spectrum replaced by zeros.
    bad : ndarray of bool, shape (n,)
        Which spectra held a NaN or infinity; their results must be set to NaN.
    """
    bad = ~np.all(np.isfinite(spectra.reshape(spectra.shape[0], -1)), axis=1)
    if bad.any():
        spectra = np.where(bad.reshape((-1,) + (1,) * (spectra.ndim - 1)), 0.0, spectra)
    return spectra, bad


def reason_array(n: int) -> np.ndarray:
    """Return an object array of ``n`` empty reasons (``""`` means: value is fine)."""
    return np.full(n, "", dtype=object)


def first_reason(reasons: np.ndarray) -> str | None:
    """Return the reason for the first spectrum of a batch, or ``None`` when there is none."""
    r = reasons[0]
    return r if r else None
