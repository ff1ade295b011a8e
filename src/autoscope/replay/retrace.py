r"""Explainable retrace: the run's steps seen by the fully trained model.

"During the experiment the model learns structure-property relationships. What if we
retrace the experimental steps using the fully trained model?" :func:`retrace` trains
the run's model once on every measured point, then for each decision ``t`` (chosen
point :math:`a_t`, measured value :math:`y_t`) compares what the model knew *then*
(the stored :math:`\mu_t, \sigma_t` at :math:`a_t`) with what it knows *at the end*
(:math:`\mu_\infty, \sigma_\infty`):

.. math:: \mathrm{surprise}_t = \frac{|y_t - \mu_t(a_t)|}{\sigma_t(a_t)}, \qquad
          \Delta_t = \tfrac{1}{\sqrt N}\,\lVert m_{t+1} - m_t \rVert_2

with :math:`m_t` the stored mean map over the ``N`` candidates before the measurement
of decision ``t`` (so :math:`\Delta_t` is how much that measurement changed the map).
The acquisition value is split into an exploitation and an exploration term:
for EI-type policies, with :math:`s = \pm 1` (maximise / minimise), :math:`I = s(\mu - y^*)`
and :math:`z = I / \sigma`,

.. math:: \mathrm{EI} = \underbrace{I\,\Phi(z)}_{\text{exploitation}}
          + \underbrace{\sigma\,\varphi(z)}_{\text{exploration}}, \qquad
          \mathrm{UCB} = \underbrace{s\,\mu}_{\text{exploitation}}
          + \underbrace{\sqrt{\beta}\,\sigma}_{\text{exploration}}

(``exploit``: :math:`(s\mu, 0)`; ``maxvar``: :math:`(0, \sigma)`; ``thompson``:
:math:`(s\mu, \sigma)`; ``cost_aware``: the terms of its base policy; ``pi`` and
``logei``: the EI terms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import norm

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.replay._common import (
    build_recommender,
    check_trace,
    recommender_config,
)

if TYPE_CHECKING:
    from autoscope.recommender import DKLRecommender
    from autoscope.trace import ExperimentTrace

__all__ = ["RetraceResult", "acquisition_terms", "final_recommender", "retrace"]


@dataclass
class RetraceResult:
    r"""Each decision of a run, explained by the model trained on the whole run.

    Arrays have length ``n_dec`` (model decisions) unless stated.

    Attributes
    ----------
    uid : str
    policy : dict
        The run's policy spec (what the acquisition terms follow).
    steps, ids : ndarray, int
        Measurement index and candidate id of each decision.
    values : ndarray
        :math:`y_t`, measured at each decision's point.
    mean_then, std_then : ndarray
        :math:`\mu_t(a_t), \sigma_t(a_t)` when the decision was taken (stored).
    mean_final, std_final : ndarray
        :math:`\mu_\infty(a_t), \sigma_\infty(a_t)` of the fully trained model.
    surprise : ndarray
        :math:`|y_t - \mu_t| / \sigma_t` (NaN where unknown).
    exploitation, exploration : ndarray
        The acquisition terms of the module docstring.
    best_before : ndarray
        :math:`y^*`, best value measured before each decision.
    map_change : ndarray or None
        :math:`\Delta_t` (NaN where the cadence skipped a map); ``None`` without maps.
    final_mean, final_std : ndarray, shape (N,)
        The fully trained model over every candidate.
    candidates : ndarray, shape (N, 2)
    measured_ids : ndarray, shape (n,)
        All measurements (seeds included), in order.
    measured_values : ndarray, shape (n,)
    """

    uid: str
    policy: dict[str, Any]
    steps: np.ndarray
    ids: np.ndarray
    values: np.ndarray
    mean_then: np.ndarray
    std_then: np.ndarray
    mean_final: np.ndarray
    std_final: np.ndarray
    surprise: np.ndarray
    exploitation: np.ndarray
    exploration: np.ndarray
    best_before: np.ndarray
    map_change: np.ndarray | None
    final_mean: np.ndarray
    final_std: np.ndarray
    candidates: np.ndarray
    measured_ids: np.ndarray
    measured_values: np.ndarray

    def _top(self, score: np.ndarray | None, k: int) -> list[int]:
        if score is None:
            return []
        s = np.where(np.isfinite(score), score, -np.inf)
        order = np.argsort(-s, kind="stable")
        return [int(t) for t in order[:k] if np.isfinite(score[t])]

    def most_surprising(self, k: int = 5) -> list[int]:
        """Decisions ``t`` with the largest surprise, largest first."""
        return self._top(self.surprise, k)

    def most_changed(self, k: int = 5) -> list[int]:
        """Decisions ``t`` whose measurement changed the mean map most (needs stored maps)."""
        return self._top(self.map_change, k)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-friendly summary."""
        fin = np.isfinite(self.surprise)
        explore = self.exploration / (np.abs(self.exploitation) + np.abs(self.exploration))
        return {
            "uid": self.uid,
            "n_decisions": int(len(self.steps)),
            "median_surprise": float(np.median(self.surprise[fin])) if fin.any() else None,
            "most_surprising_steps": [int(self.steps[t]) for t in self.most_surprising(3)],
            "most_changed_steps": [int(self.steps[t]) for t in self.most_changed(3)],
            "mean_exploration_share": float(np.nanmean(explore))
            if np.isfinite(explore).any()
            else None,
        }

    def figure(self) -> Any:
        """Draw surprise, then-vs-final predictions, acquisition terms and map change."""
        from autoscope.replay.figures import retrace_figure

        return retrace_figure(self)


def final_recommender(
    trace: ExperimentTrace, config: dict[str, Any] | None = None
) -> DKLRecommender | None:
    """Return the run's recommender trained once on every measured point (``None``: no fit).

    All finite measured values are ingested in one call, in path order, and the model
    is fitted at the first prediction.
    """
    rec = build_recommender(trace, recommender_config(trace) if config is None else config)
    vals = np.asarray(trace.values, dtype=float)
    pts = [{"_id": int(i), "value": float(v)} for i, v in zip(trace.measured_ids, vals, strict=True)
           if np.isfinite(v)]  # fmt: skip
    if pts:
        rec.ingest(pts)
    try:
        rec.predict()
    except ModelFittingError:
        return None
    return rec


def acquisition_terms(
    policy: dict[str, Any], mean: Any, std: Any, best: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Exploitation and exploration terms of a policy's acquisition (module docstring).

    Parameters
    ----------
    policy : dict
        Policy spec ``{"name", "params"}``.
    mean, std, best : array_like, shape (n,)
        Predicted mean and std at the chosen points and the incumbent :math:`y^*`.

    Returns
    -------
    exploitation, exploration : ndarray, shape (n,)
    """
    name = str(policy.get("name"))
    params = dict(policy.get("params") or {})
    if name == "cost_aware":
        base = params.get("base") or {"name": "ei"}
        base = {"name": base, "params": {}} if isinstance(base, str) else base
        return acquisition_terms(base, mean, std, best)
    mu, sd = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    s = 1.0 if params.get("maximize", True) else -1.0
    if name == "ucb":
        return s * mu, np.sqrt(float(params.get("beta", 4.0))) * sd
    if name in ("exploit", "thompson"):
        return s * mu, (sd.copy() if name == "thompson" else np.zeros_like(sd))
    if name == "maxvar":
        return np.zeros_like(mu), sd.copy()
    imp = s * (mu - np.asarray(best, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, imp / sd, np.sign(imp) * np.inf)
    return imp * norm.cdf(z), np.where(sd > 0, sd * norm.pdf(z), 0.0)


def _stored(dec: dict[str, Any], key: str) -> float:
    v = dec.get(key)
    try:
        return float(v) if v is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def retrace(trace: ExperimentTrace, *, recommender: DKLRecommender | None = None) -> RetraceResult:
    """Explain a stored run with its model trained once on every measured point.

    Parameters
    ----------
    trace : ExperimentTrace
        A stored ``dkl_explore`` run.
    recommender : DKLRecommender, optional
        A recommender already holding every measured point (e.g. the one returned by
        ``counterfactual(trace).recommender``); default :func:`final_recommender`.

    Returns
    -------
    RetraceResult

    Raises
    ------
    InputDataError
        Not a ``dkl_explore`` trace, or the model cannot be fitted on the run's data.
    """
    check_trace(trace)
    rec = recommender if recommender is not None else final_recommender(trace)
    if rec is None:
        raise InputDataError(f"the model of run {trace.uid} could not be fitted on its data")
    fmean, fvar = (np.asarray(a, dtype=float) for a in rec.predict())
    fstd = np.sqrt(np.clip(fvar, 0.0, None))
    values = np.asarray(trace.values, dtype=float)
    mids = np.asarray(trace.measured_ids, dtype=np.int64)
    all_dec = list(trace.decisions)
    rows = [(k, d) for k, d in enumerate(all_dec) if int(d.get("chosen_id", -1)) >= 0]
    rows = [(k, d) for k, d in rows if int(d.get("step", -1)) < len(mids)]
    steps = np.asarray([int(d["step"]) for _, d in rows], dtype=np.int64)
    ids = np.asarray([int(d["chosen_id"]) for _, d in rows], dtype=np.int64)
    maps = getattr(trace, "maps", None)
    mean_then = np.asarray([_stored(d, "pred_mean") for _, d in rows])
    std_then = np.asarray([_stored(d, "pred_std") for _, d in rows])
    if maps is not None and len(rows):  # fill from the stored maps where the fields are missing
        k_idx = np.asarray([k for k, _ in rows])
        m_map = maps["mean"][k_idx, ids]
        s_map = maps["std"][k_idx, ids]
        mean_then = np.where(np.isfinite(mean_then), mean_then, m_map)
        std_then = np.where(np.isfinite(std_then), std_then, s_map)
    y = values[steps] if steps.size else np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        surprise = np.where(std_then > 0, np.abs(y - mean_then) / std_then, np.nan)
    best = np.asarray([np.nanmax(values[:s]) if np.isfinite(values[:s]).any() else np.nan
                       for s in steps])  # fmt: skip
    policy = dict(
        (trace.specs or {}).get("policy") or recommender_config(trace).get("policy") or {}
    )
    exploit, explore = acquisition_terms(policy, mean_then, std_then, best)
    return RetraceResult(
        uid=str(trace.uid),
        policy=policy,
        steps=steps,
        ids=ids,
        values=y,
        mean_then=mean_then,
        std_then=std_then,
        mean_final=fmean[ids],
        std_final=fstd[ids],
        surprise=surprise,
        exploitation=exploit,
        exploration=explore,
        best_before=best,
        map_change=_map_change(maps, [k for k, _ in rows], len(all_dec)),
        final_mean=fmean,
        final_std=fstd,
        candidates=np.asarray(trace.candidates),
        measured_ids=mids,
        measured_values=values,
    )


def _map_change(
    maps: dict[str, np.ndarray] | None, rows: list[int], n_all: int
) -> np.ndarray | None:
    """RMS change of the stored mean map across each decision's measurement."""
    if maps is None or maps.get("mean") is None:
        return None
    m = np.asarray(maps["mean"], dtype=float)
    out = np.full(len(rows), np.nan)
    for t, k in enumerate(rows):
        if k + 1 < min(n_all, len(m)):
            a, b = m[k], m[k + 1]
            if np.isfinite(a).all() and np.isfinite(b).all():
                out[t] = float(np.sqrt(np.mean((b - a) ** 2)))
    return out
