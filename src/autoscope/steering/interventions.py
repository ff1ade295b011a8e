"""Applying an intervention to a recommender and the plan's state at a step boundary.

The plan applies pending records (:mod:`autoscope.steering.records`) at a *step
boundary* (after a measurement was ingested, before the next ``suggest``) with
:func:`apply_intervention`, which changes the recommender in place (the model
and its data are kept) and the plan's :class:`RunState` (budget, stop, forced
points, scalarizer), and returns the record with ``step``, ``old`` and ``new``
filled in: what goes into the ``interventions`` stream, and what
``autoscope.replay`` re-applies at the same step.

==============  ==========================================================
kind            effect
==============  ==========================================================
``policy``      the core policy layer (:mod:`.layers`); with ``steps`` the
                state schedules the switch back
``scalarizer``  every stored spectrum re-scalarized (values replaced in the
                recommender, previously NaN ones ingested), model retrained
``exclude``     the region's candidates are never suggested
``include``     allowed again
``boost``       the boost layer: ``+weight`` on the region's candidates
``prior``       the points are ingested as known values
``costs``       the cost layer's travel / dwell weights; a dwell map (s)
``budget``      the run's budget (``delta`` or ``total``)
``stop``        the run stops at this boundary, successfully
``force``       the points (ids, or pixels → nearest candidates) are queued
                to be measured next, in order, before the model is asked
==============  ==========================================================

Examples
--------
>>> import numpy as np
>>> from autoscope.steering import apply_intervention, make_intervention
>>> from autoscope.recommender import DKLRecommender
>>> rec = DKLRecommender(np.random.default_rng(0).normal(size=(12, 12)), patch_size=4)
>>> out = apply_intervention(rec, make_intervention("exclude", {"region": {"rows": [0, 4]}}))
>>> out["new"]["n_excluded"], int((rec.candidates[:, 0] < 4).sum())
(18, 18)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope import policies, scalarizers
from autoscope.errors import InputDataError
from autoscope.protocols import CandidateRecommender
from autoscope.steering.layers import compose_policy, policy_layers
from autoscope.steering.records import (
    KINDS,
    check_params,
    decode_record,
    jsonable,
    make_intervention,
)
from autoscope.steering.regions import nearest_ids, resolve_region

__all__ = ["KINDS", "RunState", "apply_intervention", "make_intervention", "replace_values"]


@dataclass
class RunState:
    """The plan-side state interventions may change (pure Python, no devices).

    Attributes
    ----------
    budget : int or None
        Total number of spectra, seeds included.
    scalarizer : dict or None
        The scalarizer spec in force.
    axis : ndarray, shape (L,) or None
        Spectral axis (needed to re-scalarize).
    measured : list of int
        Candidate id of every measurement so far, in order.
    spectra : list of ndarray
        The spectrum of every measurement, in order (for re-scalarization).
    forced : list of int
        Candidate ids to measure next, in order, before asking the model.
    stop : str or None
        Why to stop (``None``: go on).
    revert : dict or None
        ``{"at": step, "spec": policy spec}``: switch the core policy back then.
    boost : set of int
        Boosted candidate ids so far.
    """

    budget: int | None = None
    scalarizer: dict[str, Any] | None = None
    axis: np.ndarray | None = None
    measured: list[int] = field(default_factory=list)
    spectra: list[np.ndarray] = field(default_factory=list)
    forced: list[int] = field(default_factory=list)
    stop: str | None = None
    revert: dict[str, Any] | None = None
    _sc: Any = field(default=None, repr=False)

    def scalarize(self, spectrum: np.ndarray) -> float:
        """Return the current scalarizer's value of one spectrum (NaN when undefined or failing)."""
        if self._sc is None or self._sc.spec != self.scalarizer:
            self._sc = scalarizers.from_spec(self.scalarizer)
        try:
            v = float(self._sc(np.asarray(spectrum, dtype=float), self.axis))
        except Exception:  # noqa: BLE001 - the plan records NaN for a failing scalarizer
            return float("nan")
        return v if math.isfinite(v) else float("nan")


def replace_values(rec: CandidateRecommender, values: Any) -> None:
    """Replace the values of every point the recommender ingested, in ``rec.measured_ids`` order.

    Uses the recommender's public ``replace_values(values)``
    (:meth:`autoscope.recommender.DKLRecommender.replace_values`; the fakes of
    :mod:`autoscope.testing` have it too). The model is kept; it refits at the
    next decision.

    Raises
    ------
    InputDataError
        Wrong length, or a recommender that cannot have its values replaced.
    """
    values = np.asarray(values, dtype=float)
    n = len(rec.measured_ids)
    if values.shape != (n,):
        raise InputDataError(f"need {n} values (one per ingested point), got shape {values.shape}")
    _method(rec, "replace_values")(values)


def _rescalarize(rec: CandidateRecommender, state: RunState | None, spec: dict) -> dict[str, Any]:
    if state is None or state.axis is None or len(state.spectra) != len(state.measured):
        raise InputDataError("scalarizer: re-scalarizing needs the run's spectra and axis")
    sc = scalarizers.from_spec(spec)
    if state.spectra:
        sc.validate(state.axis, np.shape(state.spectra[0]))
    old_spec, state.scalarizer = state.scalarizer, dict(sc.spec)
    new = np.array([state.scalarize(s) for s in state.spectra])
    by_id = dict(zip(state.measured, new, strict=True))
    ids = list(rec.measured_ids)
    current = np.asarray(getattr(rec, "values", [np.nan] * len(ids)), dtype=float)
    replace_values(rec, [by_id.get(i, v) for i, v in zip(ids, current, strict=True)])
    late = [i for i, v in by_id.items() if i not in set(ids) and np.isfinite(v)]
    if late:  # measured while NaN (never ingested), finite now
        rec.ingest([{"_id": int(i), "value": float(by_id[i])} for i in late])
    ok = np.isfinite(new)
    summary = {
        "n_rescalarized": int(new.size),
        "n_nan": int((~ok).sum()),
        "max": float(new[ok].max()) if ok.any() else None,
    }
    return {"old": old_spec, "new": {"spec": state.scalarizer, **summary}}


def _method(rec: Any, name: str) -> Any:
    m = getattr(rec, name, None)
    if not callable(m):
        raise InputDataError(
            f"{type(rec).__name__} has no {name}(): cannot apply this intervention"
        )
    return m


def _n_excluded(rec: CandidateRecommender) -> int | None:
    config = getattr(rec, "config", None)
    ex = config.get("excluded") if isinstance(config, Mapping) else None
    return None if ex is None else len(ex)


def apply_intervention(
    rec: CandidateRecommender,
    record: Mapping[str, Any],
    state: RunState | None = None,
    *,
    step: int | None = None,
) -> dict[str, Any]:
    """Apply one intervention to a recommender (and the plan's state) at a step boundary.

    Parameters
    ----------
    rec : recommender
        ``DKLRecommender`` (every kind) or any recommender with the parts a kind
        needs (``policy`` setter, ``exclude``/``include``, ``ingest``,
        ``set_dwell``, ``features``).
    record : dict
        From :func:`make_intervention`, a plan's applied record, or a stored
        ``interventions`` event (:func:`decode_record` forms). A stored record
        whose ``new`` holds ``"rejected"`` is skipped.
    state : RunState, optional
        The plan's state; needed by ``scalarizer``, ``budget``, ``stop``, ``force``
        and a ``policy`` with ``steps``. Without it those change nothing of it.
    step : int, optional
        The boundary: the index of the measurement the next decision chooses.

    Returns
    -------
    dict
        The record plus ``step``, ``old`` and ``new`` (JSON-friendly).

    Raises
    ------
    InputDataError
        The intervention does not fit this recommender or state.
    """
    r = decode_record(record)
    if isinstance(r.get("new"), Mapping) and "rejected" in r["new"]:
        return r
    kind, p = r["kind"], check_params(r["kind"], r.get("params") or {})
    step = r.get("step") if step is None else step
    out: dict[str, Any] = {k: r[k] for k in ("seq", "kind", "who", "time") if k in r}
    out.update(params=jsonable(p), step=None if step is None else int(step))
    cand = np.asarray(rec.candidates)

    def ids_of(region: Mapping) -> np.ndarray:
        return resolve_region(region, cand, getattr(rec, "features", None))

    if kind in ("policy", "costs", "boost"):
        if not hasattr(rec, "policy"):
            raise InputDataError(f"{kind}: {type(rec).__name__} has no settable policy")
        old = dict(policies.from_spec(rec.policy).spec)
        core, cost, boost = policy_layers(old)
        new_extra: dict[str, Any] = {}
        if kind == "policy":
            if state is not None:  # the latest choice wins over a scheduled switch back
                back = core if state.revert is None else state.revert["spec"]
                temporary = p["steps"] and step is not None and not p["revert"]
                if temporary and step is not None:  # temporary implies a step
                    state.revert = {"at": int(step) + p["steps"], "spec": back}
                else:
                    state.revert = None
            core = p["spec"]
        elif kind == "costs":
            cost = dict(cost or {"travel_weight": 0.0, "dwell_weight": 0.0, "normalize": True})
            if p.get("travel") is not None:
                cost["travel_weight"] = p["travel"]
            if p.get("dwell") is not None:
                cost["dwell_weight"] = p["dwell"]
            if p.get("dwell_map") is not None:
                _method(rec, "set_dwell")(np.asarray(p["dwell_map"], dtype=float))
                new_extra["dwell_map_set"] = True
        else:
            ids = ids_of(p["region"])
            keep = set() if (boost is None or p["clear"]) else set(boost["ids"])
            boost = {"ids": sorted(keep | {int(i) for i in ids}), "weight": p["weight"]}
            new_extra["n_boosted"] = len(boost["ids"])
        rec.policy = compose_policy(core, cost, boost)
        out.update(old=old, new={**dict(policies.from_spec(rec.policy).spec), **new_extra})
    elif kind == "scalarizer":
        out.update(_rescalarize(rec, state, p["spec"]))
    elif kind in ("exclude", "include"):
        ids = ids_of(p["region"])
        before = _n_excluded(rec)
        _method(rec, kind)([int(i) for i in ids])
        after = _n_excluded(rec)
        out.update(old={"n_excluded": before}, new={"ids": ids.tolist(), "n_excluded": after})
    elif kind == "prior":
        pts = [
            {
                "_id": int(q["_id"])
                if "_id" in q
                else nearest_ids([[q["row"], q["col"]]], cand)[0],
                "value": q["value"],
            }
            for q in p["points"]
        ]
        rec.ingest(pts)
        out.update(old=None, new={"points": pts})
    elif kind == "budget":
        old_b = None if state is None else state.budget
        if old_b is None and "delta" in p:
            raise InputDataError("budget: a delta needs the run's budget")
        new_b = p["total"] if "total" in p else old_b + p["delta"]
        if state is not None:
            state.budget = max(int(new_b), 0)
        out.update(old=old_b, new=max(int(new_b), 0))
    elif kind == "stop":
        reason = p["reason"] or f"stopped by {r.get('who', 'operator')}"
        old_s = None if state is None else state.stop
        if state is not None:
            state.stop = reason
        out.update(old=old_s, new=reason)
    else:  # force
        forced = [q if isinstance(q, int) else nearest_ids([q], cand)[0] for q in p["points"]]
        if any(not 0 <= i < len(cand) for i in forced):
            raise InputDataError(f"force: ids must lie in [0, {len(cand)}), got {forced}")
        old_f = None if state is None else list(state.forced)
        if state is not None:
            state.forced.extend(forced)
        out.update(old=old_f, new=forced if state is None else list(state.forced))
    return jsonable(out)
