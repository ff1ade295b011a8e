r"""Several scalar outcomes per point, turned into the one objective the model learns.

A point may carry ``m`` values (e.g. peak ratio and peak width). An objectives
spec ``{"method": ..., "weights": [w_1..w_m], "signs": [+1/-1 ...], "rho": 0.05}``
scalarises them before every fit:

* ``"weighted"``: :math:`s = \sum_i w_i\, \sigma_i y_i` in the values' own units;
* ``"chebyshev"``: augmented Chebyshev on min-max normalised outcomes
  :math:`\hat y_i = (\sigma_i y_i - \min)/(\max - \min)` over the measured points,
  :math:`s = \min_i w_i \hat y_i + \rho \sum_i w_i \hat y_i` — every maximiser is
  Pareto-optimal, and different weights reach different parts of the front;
* ``"parego"``: ``"chebyshev"`` with fresh weights drawn uniformly from the simplex
  at every decision (ParEGO, Knowles 2006): over a run the search covers the whole
  Pareto front instead of one trade-off.

``sigma_i`` (``signs``) is +1 to maximise outcome ``i`` and -1 to minimise it. A
full multi-output model with hypervolume improvement (BoTorch ``qLogEHVI``) is the
documented next step; it needs one GP per outcome.

References
----------
J. Knowles, "ParEGO: a hybrid algorithm with on-line landscape approximation for
expensive multiobjective optimization problems", IEEE TEVC 10, 50 (2006).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["MAX_ABS_VALUE", "Measurements", "Objectives"]

#: the largest magnitude a value may have: its fourth power (a batch policy squares a
#: posterior covariance, itself squared values) stays far from float64 overflow (1.8e308)
MAX_ABS_VALUE = 1e50

_METHODS = ("weighted", "chebyshev", "parego")


class Objectives:
    """Validated multi-outcome scalarisation (see the module docstring).

    Parameters
    ----------
    spec : dict or None
        ``None``: one scalar value per point. Otherwise ``{"weights": [...],
        "method": "weighted" | "chebyshev" | "parego", "signs": [...], "rho": float}``;
        ``weights`` fixes the number of outcomes ``m``.
    """

    def __init__(self, spec: Mapping[str, Any] | None = None):
        self.spec: dict[str, Any] | None = None
        self.m = 1
        if spec is None:
            return
        if not isinstance(spec, Mapping):
            raise InputDataError(f"objectives must be a dict or None, got {spec!r}")
        extra = set(spec) - {"weights", "method", "signs", "rho"}
        if extra or "weights" not in spec:
            raise InputDataError(
                "objectives is {'weights': [...], 'method': ..., 'signs': [...], 'rho': ...}, "
                f"got keys {sorted(spec)}"
            )
        w = _floats("objectives weights", spec["weights"])
        method = spec.get("method", "weighted")
        if method not in _METHODS:
            raise InputDataError(f"objectives method must be one of {_METHODS}, got {method!r}")
        signs = _floats("objectives signs", spec.get("signs", [1.0] * len(w)))
        if len(signs) != len(w) or any(s not in (1.0, -1.0) for s in signs):
            raise InputDataError(f"objectives signs must be {len(w)} values of +1/-1, got {signs}")
        if method != "weighted" and any(x < 0 for x in w):
            raise InputDataError(f"{method} weights must be >= 0, got {w}")
        rho = spec.get("rho", 0.05)
        if isinstance(rho, bool) or not isinstance(rho, int | float) or not rho >= 0:
            raise InputDataError(f"objectives rho must be a number >= 0, got {rho!r}")
        self.m = len(w)
        self.spec = {"method": method, "weights": w, "signs": signs, "rho": float(rho)}

    def check_value(self, value: Any) -> np.ndarray:
        """Return one point's value(s) as a float array of shape (m,).

        Raises
        ------
        InputDataError
            Not a number / a sequence of ``m`` numbers, an infinite value, or one
            beyond ``+-MAX_ABS_VALUE`` (1e50).
        """
        if isinstance(value, bool) or value is None:
            raise InputDataError(f"a value must be a number, got {value!r}")
        try:
            arr = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InputDataError(f"a value must be a number, got {value!r}") from None
        if arr.size != self.m:
            what = "one number" if self.m == 1 else f"{self.m} numbers (one per objective)"
            raise InputDataError(f"a value must be {what}, got {value!r}")
        if np.isinf(arr).any():
            raise InputDataError(f"values must not be infinite, got {value!r}")
        if (np.abs(arr) > MAX_ABS_VALUE).any():
            raise InputDataError(
                f"values beyond +-{MAX_ABS_VALUE:g} are refused (their squares overflow the "
                f"model's arithmetic): got {value!r}; rescale the scalarizer's units"
            )
        return arr

    def scalarize(self, values: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Turn values (n, m) into the objective (n,); NaN where any outcome is NaN."""
        values = np.asarray(values, dtype=np.float64).reshape(len(values), self.m)
        if self.spec is None:
            return values[:, 0].copy()
        s = self.spec
        y = values * np.asarray(s["signs"])
        w = np.asarray(s["weights"])
        if s["method"] == "weighted":
            return y @ w
        if s["method"] == "parego":
            gen = rng if rng is not None else np.random.default_rng(0)
            w = gen.dirichlet(np.ones(self.m))
        ok = np.isfinite(y).all(axis=1)
        out = np.full(len(y), np.nan)
        if not ok.any():
            return out
        lo, hi = y[ok].min(axis=0), y[ok].max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        yn = (y[ok] - lo) / span
        out[ok] = (w * yn).min(axis=1) + s["rho"] * (yn @ w)
        return out


class Measurements:
    """What was ingested, in order: candidate ids and their values (n, m), NaN kept.

    Parameters
    ----------
    objectives : Objectives
        How the values become the one objective the model learns.
    """

    def __init__(self, objectives: Objectives):
        self.objectives = objectives
        self.ids: list[int] = []
        self._values: list[np.ndarray] = []

    def add(self, points: list[tuple[int, np.ndarray]]) -> None:
        """Append validated ``(id, values)`` pairs."""
        for i, v in points:
            self.ids.append(i)
            self._values.append(v)

    def replace(self, values: list[np.ndarray]) -> None:
        """Replace every stored value (validated, one per id, in ingest order)."""
        if len(values) != len(self.ids):
            raise InputDataError(
                f"need {len(self.ids)} values (one per ingested point), got {len(values)}"
            )
        self._values = list(values)

    @property
    def values(self) -> np.ndarray:
        """Ingested values, (n,) or (n, m) with several objectives."""
        arr = np.array(self._values, dtype=float).reshape(-1, self.objectives.m)
        return arr[:, 0] if self.objectives.m == 1 else arr

    def objective(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return the scalarised objective of every point, (n,) (NaN for invalid points)."""
        if not self._values:
            return np.empty(0)
        return self.objectives.scalarize(np.array(self._values), rng)

    def train_data(self, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return ids (n',) and finite objective values (n',) of the valid points."""
        obj = self.objective(rng)
        ok = np.isfinite(obj)
        return np.asarray(self.ids, dtype=np.int64)[ok], obj[ok]


def _floats(name: str, value: Any) -> list[float]:
    if not isinstance(value, list | tuple) or not value:
        raise InputDataError(f"{name} must be a non-empty list of numbers, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise InputDataError(f"{name} must be finite numbers, got {value!r}")
        out.append(float(v))
    return out
