r"""Benchmark metrics: how fast a measurement order finds the best region, and how well it maps.

Every metric works on one *run*: the candidate ids in the order they were measured,
and the true (noise-free) value of every candidate, ``truth`` (N,).

* **top set** — the ``K = ceil(q N)`` candidates with the largest true values
  (``q = 0.01``: the top 1 %; ties at the K-th value are all in);
* **steps to top** — the 1-based number of measurements up to and including the
  first one in the top set, :math:`T = \min\{t : x_t \in \mathrm{top}\}` (``None``
  when the run never gets there);
* **regret** — the normalised simple regret after ``t`` measurements,
  :math:`r_t = (\max_i f_i - \max_{s \le t} f_{x_s}) / (\max_i f_i - \min_i f_i)`,
  in [0, 1];
* **map error** — :math:`\sqrt{\overline{(\hat f - f)^2}} / \mathrm{sd}(f)` over the
  candidates (1 ≈ no better than predicting the mean everywhere);
* **random baseline** — for a uniformly random order without replacement,
  :math:`P(T > t) = \binom{N-K}{t} / \binom{N}{t}` and
  :math:`E[T] = (N + 1) / (K + 1)`.

Examples
--------
>>> import numpy as np
>>> from autoscope.bench.metrics import top_mask, steps_to_top
>>> truth = np.arange(200.0)           # candidates 198 and 199 are the top 1 %
>>> int(top_mask(truth).sum())
2
>>> steps_to_top([5, 7, 199, 3], top_mask(truth))
3
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from autoscope.errors import InputDataError

__all__ = [
    "latency_stats",
    "map_error",
    "nearest_neighbour_map",
    "random_steps_expected",
    "random_steps_quantile",
    "random_survival",
    "regret_curve",
    "steps_summary",
    "steps_to_top",
    "top_mask",
]


def _truth(truth: Sequence[float] | np.ndarray) -> np.ndarray:
    t = np.asarray(truth, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).any():
        raise InputDataError(
            f"truth must be a non-empty 1-D array with finite values, got {t.shape}"
        )
    return t


def _order(order: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    o = np.asarray(order, dtype=np.int64).ravel()
    if o.size and (o.min() < 0 or o.max() >= n):
        raise InputDataError(f"measured ids must be in [0, {n}), got range {o.min()}..{o.max()}")
    return o


def top_mask(truth: Sequence[float] | np.ndarray, fraction: float = 0.01) -> np.ndarray:
    """Mark the top ``fraction`` of candidates by true value.

    Parameters
    ----------
    truth : array_like, shape (N,)
        True value of every candidate; NaN (missing data) is never in the top set
        and does not count towards ``N``.
    fraction : float
        ``q`` in (0, 1]; ``K = ceil(q * N_finite)`` (at least 1).

    Returns
    -------
    ndarray of bool, shape (N,)
        True for values ``>=`` the K-th largest (ties included).

    Raises
    ------
    InputDataError
        Bad ``truth`` or ``fraction``.
    """
    t = _truth(truth)
    if not 0.0 < fraction <= 1.0:
        raise InputDataError(f"fraction must be in (0, 1], got {fraction!r}")
    finite = np.isfinite(t)
    k = max(1, math.ceil(fraction * int(finite.sum()) - 1e-9))
    kth = np.sort(t[finite])[::-1][k - 1]
    return finite & (t >= kth)


def steps_to_top(order: Sequence[int] | np.ndarray, top: np.ndarray) -> int | None:
    """Return the 1-based step at which a top-set candidate is first measured.

    Parameters
    ----------
    order : sequence of int, length n
        Candidate ids in measurement order.
    top : ndarray of bool, shape (N,)
        The top set (:func:`top_mask`).

    Returns
    -------
    int or None
        ``T`` in ``1..n``, or ``None`` if no measured id is in the top set.
    """
    top = np.asarray(top, dtype=bool)
    o = _order(order, top.size)
    hits = np.flatnonzero(top[o])
    return int(hits[0]) + 1 if hits.size else None


def regret_curve(
    order: Sequence[int] | np.ndarray, truth: Sequence[float] | np.ndarray
) -> np.ndarray:
    r"""Normalised simple regret after each measurement.

    :math:`r_t = (f^* - \max_{s \le t} f_{x_s}) / (f^* - f_*)` with :math:`f^*`,
    :math:`f_*` the largest and smallest finite true values (``r = 0`` everywhere
    for a constant truth). NaN-valued measurements do not improve the best.

    Parameters
    ----------
    order : sequence of int, length n
    truth : array_like, shape (N,)

    Returns
    -------
    ndarray, shape (n,)
        Non-increasing, in [0, 1].
    """
    t = _truth(truth)
    o = _order(order, t.size)
    hi, lo = float(np.nanmax(t)), float(np.nanmin(t))
    if o.size == 0:
        return np.empty(0)
    vals = np.where(np.isfinite(t[o]), t[o], -np.inf)
    best = np.maximum.accumulate(vals)
    if hi == lo:
        return np.zeros(o.size)
    return np.clip((hi - best) / (hi - lo), 0.0, 1.0)


def map_error(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> float:
    r"""Normalised RMSE of a predicted map: :math:`\mathrm{RMSE}(\hat f, f) / \mathrm{sd}(f)`.

    Candidates where the truth is NaN are skipped; a non-finite prediction gives NaN.

    Parameters
    ----------
    pred, truth : array_like, shape (N,)

    Returns
    -------
    float
    """
    t = _truth(truth)
    p = np.asarray(pred, dtype=float)
    if p.shape != t.shape:
        raise InputDataError(
            f"pred and truth must have the same shape, got {p.shape} and {t.shape}"
        )
    ok = np.isfinite(t)
    if not np.isfinite(p[ok]).all():
        return float("nan")
    sd = float(np.std(t[ok]))
    rmse = float(np.sqrt(np.mean((p[ok] - t[ok]) ** 2)))
    return rmse / sd if sd > 0 else rmse


def nearest_neighbour_map(
    candidates: np.ndarray, measured: Sequence[int] | np.ndarray, values: Sequence[float]
) -> np.ndarray:
    """Predict every candidate by the value of the nearest measured one (model-free baselines).

    Parameters
    ----------
    candidates : ndarray, shape (N, 2)
        Candidate ``(row, col)``.
    measured : sequence of int, length n >= 1
        Measured candidate ids.
    values : sequence of float, length n
        Measured values (NaN ones are ignored).

    Returns
    -------
    ndarray, shape (N,)
    """
    from scipy.spatial import cKDTree

    ids = np.asarray(measured, dtype=np.int64)
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if ids.shape != v.shape or not ok.any():
        raise InputDataError(
            f"need n >= 1 measured ids with finite values, got {ids.shape} ids, {v.shape} values"
        )
    cand = np.asarray(candidates, dtype=float)
    _, nearest = cKDTree(cand[ids[ok]]).query(cand)
    return v[ok][nearest]


def random_survival(n: int, k: int, t: int) -> float:
    r"""Return the probability that a random order misses all ``k`` top items in ``t`` steps.

    A uniformly random order of ``n`` items without replacement:

    :math:`P(T > t) = \prod_{i=0}^{t-1} (n - k - i) / (n - i)`.
    """
    if not (1 <= k <= n) or t < 0:
        raise InputDataError(f"need 1 <= k <= n and t >= 0, got n={n}, k={k}, t={t}")
    if t > n - k:
        return 0.0
    i = np.arange(t, dtype=float)
    return float(np.exp(np.sum(np.log((n - k - i) / (n - i)))))


def random_steps_expected(n: int, k: int) -> float:
    """Return the expected steps to the first of ``k`` top items in a random order: (n+1)/(k+1)."""
    if not 1 <= k <= n:
        raise InputDataError(f"need 1 <= k <= n, got n={n}, k={k}")
    return (n + 1) / (k + 1)


def random_steps_quantile(n: int, k: int, q: float = 0.5) -> int:
    """Smallest ``t`` with ``P(T <= t) >= q`` for a random order (``q = 0.5``: the median)."""
    if not 0.0 < q <= 1.0:
        raise InputDataError(f"q must be in (0, 1], got {q!r}")
    lo, hi = 1, n - k + 1
    while lo < hi:  # P(T <= t) is non-decreasing in t: bisect
        mid = (lo + hi) // 2
        if 1.0 - random_survival(n, k, mid) >= q - 1e-12:
            hi = mid
        else:
            lo = mid + 1
    return lo


def steps_summary(steps: Sequence[int | None]) -> dict[str, float | int]:
    """Median, min and max over seeds of steps-to-top; ``None`` (not found) counts as +inf.

    Returns
    -------
    dict
        ``median``, ``min``, ``max`` (float, ``inf`` where not found), ``found``
        (runs that found the top set) and ``runs``.
    """
    s = np.array([np.inf if v is None else float(v) for v in steps], dtype=float)
    if s.size == 0:
        nan = float("nan")
        return {"median": nan, "min": nan, "max": nan, "found": 0, "runs": 0}
    # the median of an even count is the mean of the middle two; keep inf if either is inf
    srt = np.sort(s)
    mid = srt.size // 2
    median = srt[mid] if srt.size % 2 else 0.5 * (srt[mid - 1] + srt[mid])
    return {
        "median": float(median),
        "min": float(srt[0]),
        "max": float(srt[-1]),
        "found": int(np.isfinite(s).sum()),
        "runs": int(s.size),
    }


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """Median and 95th percentile of per-decision times (s); NaN for an empty list."""
    x = np.asarray(seconds, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"median": float("nan"), "p95": float("nan"), "n": 0}
    return {
        "median": float(np.median(x)),
        "p95": float(np.percentile(x, 95)),
        "n": int(x.size),
    }
