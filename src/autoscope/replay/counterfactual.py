r"""Counterfactual replay: follow a run's path, ask what another model or scalarizer would choose.

The lecture's question: "we save the full experimental trace — what if we follow the
actual experimental path but calculate alternative (counterfactual) scalarizers?"
:func:`counterfactual` rebuilds the run's recommender from the stored image and
configuration (same seeds), then walks the stored path exactly as
:func:`autoscope.plans.dkl_explore` did, through the plan's own loop
(:class:`~autoscope.recommender.ExplorationSession`): ingest the seed points one by
one, then at every decision ask the stopping rule and the recommender, and ingest the
point the run *actually* measured — with the value recomputed from its stored
spectrum by the counterfactual scalarizer. At each decision ``t`` it
records

.. math:: c_t = \arg\max_{i \in A_t} \alpha_t(i), \qquad
          \mathrm{rank}_t = |\{ i \in A_t : \alpha_t(i) > \alpha_t(a_t) \}|

where :math:`\alpha_t` is the counterfactual acquisition over the available
candidates :math:`A_t`, :math:`c_t` the point it would have chosen and :math:`a_t`
the point the run measured (rank 0: the counterfactual agrees). With the run's own
scalarizer, policy and model (all ``None``) the replay reproduces the stored
decisions exactly — the proof that the trace holds everything the run used.

Examples
--------
>>> from autoscope import trace  # doctest: +SKIP
>>> from autoscope.replay import counterfactual  # doctest: +SKIP
>>> tr = trace.load(uid, catalog="/tmp/cat")  # doctest: +SKIP
>>> same = counterfactual(tr)  # doctest: +SKIP
>>> same.chosen_ids == tr.chosen_ids  # doctest: +SKIP
True
>>> cf = counterfactual(tr, scalarizer={"name": "coercive_field", "params": {"which": "width"}})
... # doctest: +SKIP
>>> cf.agreement, cf.first_divergence  # doctest: +SKIP
(0.35, 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.replay._common import (
    build_recommender,
    check_trace,
    decision_records,
    normalize_spec,
    recommender_config,
    scalarize_all,
)
from autoscope.replay._walk import PlanWalk, decision_groups, seed_count

if TYPE_CHECKING:
    from autoscope.recommender import DKLRecommender
    from autoscope.trace import ExperimentTrace

__all__ = ["CounterfactualResult", "counterfactual"]


@dataclass
class CounterfactualResult:
    r"""What a replayed recommender would have chosen along a run's actual path.

    Arrays indexed by decision ``t`` have length ``n_dec`` (model decisions of the run,
    the final ``chosen_id = -1`` record excluded).

    Attributes
    ----------
    uid : str
        Source run uid.
    scalarizer, policy, model : dict
        Specs the replay used (the run's own where not overridden).
    own : bool
        ``True`` when every spec is the run's own (an exactness check).
    candidates : ndarray, shape (N, 2)
    steps : ndarray, shape (n_dec,), int
        Measurement index that decision ``t`` chose.
    actual_ids : ndarray, shape (n_dec,), int
        :math:`a_t`, the run's choice (what was measured).
    chosen_ids : list of int or None
        :math:`c_t`, the counterfactual choice (``None`` where the replayed model
        could not recommend: fitting error or nothing left).
    acq_values : ndarray, shape (n_dec,)
        :math:`\alpha_t(c_t)`, acquisition value of the counterfactual choice.
    pred_mean, pred_std : ndarray, shape (n_dec,)
        Counterfactual model's mean / std at :math:`c_t` (value units).
    actual_acq : ndarray, shape (n_dec,)
        :math:`\alpha_t(a_t)`.
    actual_rank : ndarray, shape (n_dec,), int
        :math:`\mathrm{rank}_t` (0 = agrees; -1 where unknown).
    n_available : ndarray, shape (n_dec,), int
        :math:`|A_t|`.
    would_stop : list of str or None
        What the counterfactual stopping rule said before each decision.
    values : ndarray, shape (n,)
        Counterfactual scalars of every measurement (NaN where undefined).
    original_values : ndarray, shape (n,)
        The values the run measured.
    map_steps : ndarray, shape (n_maps,), int
        Decisions ``t`` at which maps were recorded.
    mean_maps, std_maps, acquisition_maps : ndarray, shape (n_maps, N)
        Counterfactual predicted mean, std and acquisition over all candidates.
    final_mean, final_std : ndarray, shape (N,) or None
        After the last measurement.
    run_scalarizer : dict
        The scalarizer the run itself used.
    image : ndarray, shape (H, W) or (H, W, C)
        The structural image (for figures).
    recommender : DKLRecommender
        The replayed recommender after the whole path (for :func:`feature_space`).
    """

    uid: str
    scalarizer: dict[str, Any]
    policy: dict[str, Any]
    model: dict[str, Any]
    own: bool
    candidates: np.ndarray
    steps: np.ndarray
    actual_ids: np.ndarray
    chosen_ids: list[int | None]
    acq_values: np.ndarray
    pred_mean: np.ndarray
    pred_std: np.ndarray
    actual_acq: np.ndarray
    actual_rank: np.ndarray
    n_available: np.ndarray
    would_stop: list[str | None]
    values: np.ndarray
    original_values: np.ndarray
    map_steps: np.ndarray
    mean_maps: np.ndarray
    std_maps: np.ndarray
    acquisition_maps: np.ndarray
    final_mean: np.ndarray | None = None
    final_std: np.ndarray | None = None
    run_scalarizer: dict[str, Any] = field(default_factory=dict)
    image: np.ndarray | None = field(default=None, repr=False)
    recommender: DKLRecommender | None = field(default=None, repr=False)

    @property
    def n_decisions(self) -> int:
        """Number of replayed decisions."""
        return len(self.chosen_ids)

    @property
    def agrees(self) -> np.ndarray:
        """(n_dec,) bool: the counterfactual choice equals the run's."""
        return np.asarray([c == a for c, a in zip(self.chosen_ids, self.actual_ids, strict=True)])

    @property
    def agreement(self) -> float:
        """Fraction of decisions where the counterfactual agrees with the run (NaN if none)."""
        return float(self.agrees.mean()) if self.n_decisions else float("nan")

    @property
    def first_divergence(self) -> int | None:
        """First decision ``t`` where the choices differ (``None``: they never do)."""
        bad = np.flatnonzero(~self.agrees)
        return int(bad[0]) if bad.size else None

    def chosen_pixels(self) -> np.ndarray:
        """``(row, col)`` of each counterfactual choice, (n_dec, 2), -1 where ``None``."""
        out = np.full((self.n_decisions, 2), -1, dtype=np.int64)
        for t, c in enumerate(self.chosen_ids):
            if c is not None:
                out[t] = self.candidates[c]
        return out

    def distance(self) -> np.ndarray:
        """Return the pixel distance between counterfactual and actual choices, (n_dec,)."""
        cf = self.chosen_pixels().astype(float)
        act = np.asarray(self.candidates, dtype=float)[self.actual_ids]
        d = np.hypot(*(cf - act).T) if self.n_decisions else np.empty(0)
        return np.where(cf[:, 0] < 0, np.nan, d)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-friendly summary (specs, agreement, first divergence, ranks)."""
        ranks = self.actual_rank[self.actual_rank >= 0]
        return {
            "uid": self.uid,
            "scalarizer": self.scalarizer,
            "policy": self.policy,
            "model": self.model,
            "own_specs": self.own,
            "n_decisions": self.n_decisions,
            "agreement": self.agreement,
            "first_divergence": self.first_divergence,
            "median_actual_rank": float(np.median(ranks)) if ranks.size else None,
            "mean_distance_px": float(np.nanmean(self.distance())) if self.n_decisions else None,
        }

    def figure(self, trace: ExperimentTrace | None = None) -> Any:
        """Draw actual vs counterfactual paths, ranks and values; see :mod:`.figures`."""
        from autoscope.replay.figures import counterfactual_figure

        return counterfactual_figure(self, trace)

    def to_xarray(self) -> Any:
        """Return the per-decision arrays as an :class:`xarray.Dataset` (dimension ``decision``)."""
        import xarray as xr

        chosen = np.asarray([-1 if c is None else c for c in self.chosen_ids], dtype=np.int64)
        data = {
            "step": ("decision", self.steps),
            "actual_id": ("decision", self.actual_ids),
            "chosen_id": ("decision", chosen),
            "acq_value": ("decision", self.acq_values),
            "pred_mean": ("decision", self.pred_mean),
            "pred_std": ("decision", self.pred_std),
            "actual_acq": ("decision", self.actual_acq),
            "actual_rank": ("decision", self.actual_rank),
        }
        attrs = {"uid": self.uid, "scalarizer": str(self.scalarizer), "policy": str(self.policy)}
        return xr.Dataset(data, attrs=attrs)


def _spec_or_none(kind: str, spec: Any) -> dict[str, Any] | None:
    if spec is None:
        return None
    if kind == "policy":
        from autoscope import policies

        return dict(policies.from_spec(normalize_spec(kind, spec)).spec)
    from autoscope import models

    return dict(models.from_spec(normalize_spec(kind, spec)).spec)


def _interventions(trace: ExperimentTrace, new_scalarizer: bool, new_policy: bool) -> Any:
    """Return an ``InterventionReplay`` of a steered run (``None`` if it was not steered).

    Interventions of a kind the counterfactual replaces (scalarizer, policy) are skipped.
    """
    if not getattr(trace, "interventions", None):
        return None
    from autoscope.steering.history import InterventionReplay

    skip = [k for k, new in (("scalarizer", new_scalarizer), ("policy", new_policy)) if new]
    return InterventionReplay(trace, skip=skip)


def counterfactual(
    trace: ExperimentTrace,
    scalarizer: Any = None,
    policy: Any = None,
    *,
    model: Any = None,
    map_every: int | None = None,
) -> CounterfactualResult:
    """Replay a stored run along its actual path with another scalarizer, policy or model.

    Parameters
    ----------
    trace : ExperimentTrace
        A stored ``dkl_explore`` run (:func:`autoscope.trace.load`).
    scalarizer : str or dict, optional
        Counterfactual scalarizer (name or spec); its values are recomputed from the
        stored spectra. ``None``: the values the run measured.
    policy : str or dict, optional
        Counterfactual acquisition policy; ``None``: the run's.
    model : str or dict, optional
        Counterfactual surrogate model spec; ``None``: the run's.
    map_every : int, optional
        Record the counterfactual mean / std / acquisition maps every this many
        decisions (0: never). Default: the run's own cadence (``specs["map_every"]``).

    Returns
    -------
    CounterfactualResult

    Raises
    ------
    InputDataError
        Not a ``dkl_explore`` trace, inconsistent decisions and measurements, bad specs.
    """
    check_trace(trace, spectra=scalarizer is not None)
    source = (trace.specs or {}).get("resumed_from")
    if source:
        raise InputDataError(
            f"run {trace.uid} resumes run {source}: a counterfactual replay of a resumed run "
            "is not supported yet (replay the pair with ExplorationSession.catch_up)"
        )
    config = recommender_config(trace)
    pol, mod = _spec_or_none("policy", policy), _spec_or_none("model", model)
    if pol is not None:
        config["policy"] = pol
    if mod is not None:
        config["model"] = mod
    own_values = np.asarray(trace.values, dtype=float)
    if scalarizer is None:
        sc_spec, values = dict(trace.specs.get("scalarizer") or {}), own_values.copy()
    else:
        sc_spec, values = scalarize_all(trace, scalarizer)
    own = scalarizer is None and pol is None and mod is None
    if map_every is None:
        map_every = int(trace.specs.get("map_every", 1) or 0)
    if isinstance(map_every, bool) or not isinstance(map_every, int) or map_every < 0:
        raise InputDataError(f"map_every must be an int >= 0, got {map_every!r}")

    ids = [int(i) for i in trace.measured_ids]
    n_seed = seed_count(trace, len(ids))
    decisions = decision_records(trace)
    rec = build_recommender(trace, config)
    steering = _interventions(trace, scalarizer is not None, pol is not None)
    replay = PlanWalk(rec, len(np.asarray(trace.candidates)), ids[:n_seed])

    def catch_up(n: int) -> None:  # what the run had ingested: its first n measurements
        while replay.n_recorded < min(n, len(ids)):
            replay.measure(ids[replay.n_recorded], values[replay.n_recorded])

    rows: list[dict[str, Any]] = []
    maps: dict[str, list[Any]] = {"steps": [], "mean": [], "std": [], "acq": []}
    for group in decision_groups(decisions, ids, n_seed):
        t0, step0, dec0 = group[0]
        catch_up(int(dec0.get("n_known", step0)))
        replay.take_seeds()  # an overlapped run decided first while its last seed was measured
        if steering is not None:  # the run was steered at this boundary: do the same
            steering.apply_due(rec, step0)
        actuals = [ids[step] for _, step, _ in group]
        got, acq = replay.decide_batch(actuals)
        for (t, step, _), row, actual in zip(group, got, actuals, strict=True):
            rows.append(row | {"step": step, "actual": actual})
            if map_every and t % map_every == 0:
                mean, var = rec.predict()
                maps["steps"].append(t)
                maps["mean"].append(mean)
                maps["std"].append(np.sqrt(np.clip(var, 0.0, None)))
                maps["acq"].append(acq)
    catch_up(len(ids))
    final_mean = final_std = None
    try:
        fm, fv = rec.predict()
        final_mean, final_std = fm, np.sqrt(np.clip(fv, 0.0, None))
    except ModelFittingError:
        pass
    n_cand = len(np.asarray(trace.candidates))

    def col(key: str, dtype: Any = float) -> np.ndarray:
        return np.asarray([r[key] for r in rows], dtype=dtype)

    def stack(key: str) -> np.ndarray:
        return np.asarray(maps[key], dtype=float) if maps[key] else np.empty((0, n_cand))

    return CounterfactualResult(
        uid=str(trace.uid),
        scalarizer=sc_spec,
        policy=dict(config.get("policy") or {}),
        model=dict(config.get("model") or {}),
        own=own,
        candidates=np.asarray(trace.candidates),
        steps=col("step", np.int64),
        actual_ids=col("actual", np.int64),
        chosen_ids=[r["chosen"] for r in rows],
        acq_values=col("acq_value"),
        pred_mean=col("pred_mean"),
        pred_std=col("pred_std"),
        actual_acq=col("actual_acq"),
        actual_rank=col("rank", np.int64),
        n_available=col("n_available", np.int64),
        would_stop=[r["stop"] for r in rows],
        values=values,
        original_values=own_values,
        map_steps=np.asarray(maps["steps"], dtype=np.int64),
        mean_maps=stack("mean"),
        std_maps=stack("std"),
        acquisition_maps=stack("acq"),
        final_mean=final_mean,
        final_std=final_std,
        run_scalarizer=dict(trace.specs.get("scalarizer") or {}),
        image=np.asarray(trace.image),
        recommender=rec,
    )
