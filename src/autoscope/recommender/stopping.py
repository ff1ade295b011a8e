"""Stopping criteria for an autonomous experiment.

A ``stop`` spec ``{"budget": int, "std_below": float, "patience": int, "tol": float}``
(any subset) ends a run when

* ``"budget"``: the number of measured points reached ``budget``;
* ``"uncertainty"``: the largest predicted standard deviation over the candidates
  still available is below ``std_below`` (value units) — the model is sure everywhere;
* ``"no_improvement"``: the best measured objective has not risen by more than
  ``tol`` during the last ``patience`` measurements;
* ``"exhausted"``: no candidate is left (always checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["StopCriteria"]


class StopCriteria:
    """Validated stopping criteria (see the module docstring).

    Parameters
    ----------
    spec : dict or None
        Any of ``budget`` (int >= 1), ``std_below`` (float > 0), ``patience``
        (int >= 1), ``tol`` (float >= 0, default 0).
    """

    KEYS = ("budget", "std_below", "patience", "tol")

    def __init__(self, spec: Mapping[str, Any] | None = None):
        if spec is not None and not isinstance(spec, Mapping):
            raise InputDataError(f"stop must be a dict or None, got {spec!r}")
        spec = dict(spec or {})
        if set(spec) - set(self.KEYS):
            raise InputDataError(f"stop accepts keys {self.KEYS}, got {sorted(spec)}")
        self.budget = _int("budget", spec.get("budget"))
        self.patience = _int("patience", spec.get("patience"))
        self.std_below = _num("std_below", spec.get("std_below"), strict=True)
        self.tol = _num("tol", spec.get("tol", 0.0), strict=False)
        self.spec = {k: v for k, v in spec.items() if v is not None}

    def check(
        self,
        *,
        n_measured: int,
        n_available: int,
        objective: np.ndarray,
        max_std: float | None,
    ) -> str | None:
        """Return the first criterion met, or ``None``.

        Parameters
        ----------
        n_measured : int
            Points ingested so far.
        n_available : int
            Candidates that may still be suggested.
        objective : ndarray, shape (n,)
            The objective of each ingested point, in order (NaN for invalid ones).
        max_std : float or None
            Largest predicted std over the available candidates (``None``: no model yet).
        """
        if n_available == 0:
            return "exhausted"
        if self.budget is not None and n_measured >= self.budget:
            return "budget"
        if self.std_below is not None and max_std is not None and max_std < self.std_below:
            return "uncertainty"
        if self.patience is not None and objective.size > self.patience:
            best = np.fmax.accumulate(np.where(np.isfinite(objective), objective, -np.inf))
            before, now = best[-self.patience - 1], best[-1]
            if np.isfinite(now) and not now > before + self.tol:
                return "no_improvement"
        return None


def _int(name: str, v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise InputDataError(f"stop {name} must be an int >= 1, got {v!r}")
    return int(v)


def _num(name: str, v: Any, *, strict: bool) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
        raise InputDataError(f"stop {name} must be a finite number, got {v!r}")
    if v < 0 or (strict and v == 0):
        raise InputDataError(f"stop {name} must be {'>' if strict else '>='} 0, got {v!r}")
    return float(v)
