r"""Headline numbers of a run: summary, exact random-sampling baseline, per-candidate grids.

The random baseline is exact. With the ``N`` true candidate values sorted ascending,
:math:`v_{(1)} \le \dots \le v_{(N)}`, the best of ``k`` uniform draws without replacement has

.. math:: P(\max = v_{(i)}) = \binom{i-1}{k-1} / \binom{N}{k}, \qquad
          P(\max \le v_{(i)}) = \binom{i}{k} / \binom{N}{k},

so :math:`E[\max_k] = \sum_{i=k}^{N} v_{(i)} \binom{i-1}{k-1} / \binom{N}{k}` (computed with
log-binomials), and a region of ``M`` of the ``N`` candidates is first hit after
:math:`(N + 1)/(M + 1)` draws on average; the first hit ``T`` has
:math:`P(T > t) = \binom{N-M}{t} / \binom{N}{t}`, whose median (the typical run) is smaller
than that mean because a few random orders take very long.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import gammaln

from autoscope.errors import InputDataError

if TYPE_CHECKING:
    from autoscope.protocols import Sample
    from autoscope.trace import ExperimentTrace

__all__ = [
    "candidate_grid",
    "format_summary",
    "random_baseline",
    "random_median_steps",
    "summarize",
    "summary_rows",
    "top_region",
    "truth_values",
]


def random_baseline(values: Any, k_max: int, quantiles: tuple[float, ...] = (0.1, 0.9)) -> dict:
    """Exact statistics of the best of ``k`` uniform draws without replacement.

    Parameters
    ----------
    values : array_like, shape (N,)
        The true values of all candidates (NaNs are dropped).
    k_max : int
        Largest number of draws, ``1 <= k_max``; clipped to ``N``.
    quantiles : tuple of float
        Quantiles of the best value to return, each in (0, 1].

    Returns
    -------
    dict
        ``"k"`` (K,) draws 1..K; ``"mean"`` (K,) expected best value; ``"q<quantile>"`` (K,) for
        each quantile (e.g. ``"q0.1"``).

    Raises
    ------
    ValueError
        If ``values`` has no finite entry or ``k_max < 1``.
    """
    v = np.sort(np.asarray(values, dtype=float).ravel())
    v = v[np.isfinite(v)]
    if v.size == 0 or int(k_max) < 1:
        raise InputDataError(f"need finite values and k_max >= 1, got {v.size} values, {k_max=}")
    n = v.size
    ks = np.arange(1, min(int(k_max), n) + 1)
    i = np.arange(1, n + 1, dtype=float)
    out: dict[str, Any] = {"k": ks, "mean": np.empty(ks.size)}
    qs = {f"q{q:g}": np.empty(ks.size) for q in quantiles}
    for j, k in enumerate(ks):
        log_total = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
        ok = i >= k
        lw = np.full(n, -np.inf)
        lw[ok] = gammaln(i[ok]) - gammaln(k) - gammaln(i[ok] - k + 1) - log_total
        out["mean"][j] = float(np.sum(np.exp(lw) * v))
        lcdf = np.full(n, -np.inf)
        lcdf[ok] = gammaln(i[ok] + 1) - gammaln(k + 1) - gammaln(i[ok] - k + 1) - log_total
        cdf = np.exp(lcdf)
        for q, key in zip(quantiles, qs, strict=True):
            qs[key][j] = v[min(int(np.searchsorted(cdf, q - 1e-12)), n - 1)]
    out.update(qs)
    return out


def random_median_steps(n: int, m: int) -> int:
    r"""Median number of uniform draws without replacement until one of ``m`` of ``n`` is hit.

    The smallest ``t`` with :math:`P(T \le t) \ge 1/2`, where
    :math:`P(T > t) = \prod_{i<t} (n - m - i) / (n - i)`.

    Examples
    --------
    >>> random_median_steps(2401, 25), round((2401 + 1) / (25 + 1), 1)  # median, mean
    (66, 92.4)
    """
    if not 1 <= m <= n:
        raise InputDataError(f"need 1 <= m <= n, got n={n}, m={m}")
    i = np.arange(n - m, dtype=float)
    survival = np.exp(np.cumsum(np.log((n - m - i) / (n - i))))  # P(T > t) for t = 1..n-m
    below = np.flatnonzero(survival <= 0.5 + 1e-12)
    return int(below[0] + 1) if below.size else n - m + 1


def candidate_grid(trace: Any, values: Any) -> np.ndarray:
    """Scatter per-candidate values onto the image grid.

    Parameters
    ----------
    trace : ExperimentTrace
    values : array_like, shape (N,)
        One value per candidate of ``trace.candidates``.

    Returns
    -------
    ndarray, shape (H, W)
        The values at the candidate pixels, NaN elsewhere.
    """
    cand = np.asarray(trace.candidates, dtype=int)
    vals = np.asarray(values, dtype=float).ravel()
    if vals.shape != (cand.shape[0],):
        raise InputDataError(f"expected {cand.shape[0]} candidate values, got shape {vals.shape}")
    grid = np.full(np.asarray(trace.image).shape[:2], np.nan)
    grid[cand[:, 0], cand[:, 1]] = vals
    return grid


def truth_values(trace: ExperimentTrace, sample: Sample) -> np.ndarray:
    """Return the sample's noise-free scalarizer values at every candidate, shape (N,)."""
    truth = np.asarray(sample.truth(trace.specs["scalarizer"]), dtype=float)
    cand = np.asarray(trace.candidates, dtype=int)
    return truth[cand[:, 0], cand[:, 1]]


def top_region(values: Any, top_fraction: float = 0.01) -> np.ndarray:
    """Mark the true top region: the ``ceil(top_fraction * N)`` best candidates (ties included).

    Parameters
    ----------
    values : array_like, shape (N,)
        True value of every candidate.
    top_fraction : float
        Fraction of the candidates in the region, in (0, 1].

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    v = np.asarray(values, dtype=float).ravel()
    if not 0 < top_fraction <= 1:
        raise InputDataError(f"top_fraction must be in (0, 1], got {top_fraction!r}")
    m = max(1, math.ceil(top_fraction * v.size))
    return v >= np.sort(v)[::-1][m - 1]


def summarize(
    trace: ExperimentTrace, sample: Sample | None = None, top_fraction: float = 0.01
) -> dict[str, Any]:
    """Headline numbers of a run (the objective is maximised).

    Parameters
    ----------
    trace : ExperimentTrace
    sample : sample, optional
        The simulated sample, for ground-truth numbers; omitted → those entries are ``None``.
    top_fraction : float
        Size of the "top region" as a fraction of the candidates (0.01: the true top 1%).

    Returns
    -------
    dict
        JSON-serialisable: uid, grid and candidate counts, measured fractions, best measured
        value, and with a sample: true best, true value at the measured points, steps (number of
        measurements, seeds included) until a candidate of the true top region was first measured,
        and the random-sampling expectation of that number.
    """
    h, w = np.asarray(trace.image).shape[:2]
    n_cand = int(np.asarray(trace.candidates).shape[0])
    ids = np.asarray(trace.measured_ids, dtype=int)
    vals = np.asarray(trace.values, dtype=float)
    lat = np.asarray(
        [d.get("t_total") for d in trace.decisions if d.get("t_total") is not None], dtype=float
    )
    lat = lat[np.isfinite(lat)]
    specs = dict(trace.specs or {})
    s: dict[str, Any] = {
        "uid": trace.uid,
        "exit_status": (trace.stop or {}).get("exit_status"),
        "sample": (specs.get("instrument") or {}).get("sample", {}).get("kind"),
        "scalarizer": specs.get("scalarizer"),
        "policy": specs.get("policy"),
        "grid": [int(h), int(w)],
        "n_candidates": n_cand,
        "n_measured": int(ids.size),
        "n_seed": int(sum(p == "seed" for p in trace.phases)),
        "measured_fraction_grid": ids.size / (h * w),
        "measured_fraction_candidates": ids.size / max(n_cand, 1),
        "best_measured": float(np.nanmax(vals)) if np.isfinite(vals).any() else None,
        "median_decision_s": float(np.median(lat)) if lat.size else None,
        "top_fraction": top_fraction,
        "true_best": None,
        "best_measured_true": None,
        "best_true_measured": None,
        "n_top": None,
        "steps_to_top": None,
        "random_steps_to_top": None,
        "random_median_steps_to_top": None,
    }
    if sample is None:
        return s
    tv = truth_values(trace, sample)
    top = top_region(tv, top_fraction)
    hit = np.flatnonzero(top[ids]) if ids.size else np.array([], dtype=int)
    s.update(
        true_best=float(np.nanmax(tv)),
        best_true_measured=float(np.nanmax(tv[ids])) if ids.size else None,
        best_measured_true=(
            float(tv[ids[np.nanargmax(vals)]]) if s["best_measured"] is not None else None
        ),
        n_top=int(top.sum()),
        steps_to_top=int(hit[0] + 1) if hit.size else None,
        random_steps_to_top=(n_cand + 1) / (int(top.sum()) + 1),
        random_median_steps_to_top=random_median_steps(n_cand, int(top.sum())),
    )
    return s


def format_summary(summary: dict[str, Any]) -> str:
    """Format the summary as aligned ``label : value`` lines (for stdout and the HTML table)."""
    rows = summary_rows(summary)
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)} : {v}" for k, v in rows)


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, dict):
        return json.dumps(x, sort_keys=True)
    return str(x)


#: optional summary entries (set by the caller, e.g. the CLI) and their labels
_EXTRA = (("catalog", "catalog"), ("report", "report"), ("wall_s", "wall time (s)"))


def summary_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the summary as ``(label, text)`` rows, in display order."""
    top = f"true top {s['top_fraction']:.0%} found after"
    if s["steps_to_top"] is not None:
        found = f"{s['steps_to_top']} measurements"
    elif s["true_best"] is not None:
        found = f"not found in {s['n_measured']} measurements"
    else:
        found = "n/a (no ground truth)"
    if s.get("random_median_steps_to_top") is not None:
        found += (
            f" (random sampling: median {s['random_median_steps_to_top']}, "
            f"mean {s['random_steps_to_top']:.1f})"
        )
    elif s["random_steps_to_top"] is not None:
        found += f" (random sampling: {s['random_steps_to_top']:.1f} on average)"
    return [
        ("run uid", _fmt(s["uid"])),
        ("exit status", _fmt(s["exit_status"])),
        ("sample", _fmt(s["sample"])),
        ("scalarizer", _fmt(s["scalarizer"])),
        ("policy", _fmt(s["policy"])),
        (
            "measured",
            f"{s['n_measured']} of {s['grid'][0]}x{s['grid'][1]} pixels "
            f"({s['measured_fraction_grid']:.2%} of the grid, "
            f"{s['measured_fraction_candidates']:.2%} of {s['n_candidates']} candidates)",
        ),
        (top, found),
        ("best measured value", _fmt(s["best_measured"])),
        ("true value there", _fmt(s["best_measured_true"])),
        ("best true value measured", _fmt(s["best_true_measured"])),
        ("true best", _fmt(s["true_best"])),
        ("median decision latency (s)", _fmt(s["median_decision_s"])),
    ] + [(label, _fmt(s[key])) for key, label in _EXTRA if s.get(key) is not None]
