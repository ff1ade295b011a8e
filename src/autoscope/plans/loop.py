"""The DKL loop of :func:`autoscope.plans.dkl_explore`, and how it decides.

:func:`dkl_loop` is the run itself (image, seeds, decide / measure / ingest /
checkpoint, final record). Its helpers send no Bluesky messages:
:func:`decide` asks for the next point and falls back to a random unmeasured
candidate when the model fails; :func:`decision_fields` maps a recommender's
``last_decision`` report to the fields of the ``decisions`` stream;
:func:`maps` returns the predicted mean / std / acquisition over the candidates
on the plan's cadence; :func:`should_stop` asks the stopping criterion.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np

from autoscope._plan_setup import PlanSetup
from autoscope.errors import InputDataError, ModelFittingError, NoRecommendation
from autoscope.plan_stubs import (
    Decision,
    DecisionWithMaps,
    Geometry,
    PointInfo,
    acquire_image,
    measure_point,
    record_decision,
    run_outcome_decorator,
)

__all__ = [
    "decide",
    "decision_fields",
    "dkl_loop",
    "force_decision",
    "maps",
    "should_stop",
    "steer_session",
]


def decision_fields(last: Mapping[str, Any], chosen: int) -> dict[str, Any]:
    """Map a recommender's ``last_decision`` to :class:`~autoscope.plan_stubs.Decision` fields.

    Reads the :class:`~autoscope.recommender.DKLRecommender` layout (per-point
    lists ``ids``/``acquisition``/``mean``/``std`` taken at ``chosen``; ``timings``
    ``ingest``/``train``/``predict``/``acquire`` in s; ``phase`` and
    ``fit_failures``) and scalar ``acquisition_value``/``mean``/``std``/``loss``
    as well. A decision not made by the model itself (``phase`` ``"fallback"``
    or ``"maxmin"``, or fit failures) gets ``fallback = 1`` and the failures in
    ``reason``.
    """
    ids = [int(i) for i in last.get("ids") or ()]
    k = ids.index(chosen) if chosen in ids else None

    def at(*names: str) -> Any:
        for n in names:
            v = last.get(n)
            if isinstance(v, list | tuple):
                v = v[k] if k is not None and k < len(v) else None
            if v is not None:
                return v
        return None

    timings = last.get("timings") or {}
    failures = [str(f) for f in last.get("fit_failures") or ()]
    fallback = last.get("phase") in ("fallback", "maxmin") or bool(failures)
    return {
        "acq_value": at("acq_value", "acquisition", "acquisition_value"),
        "pred_mean": at("pred_mean", "mean"),
        "pred_std": at("pred_std", "std"),
        "train_loss": at("train_loss", "loss"),
        "n_iter": at("n_iter", "iterations"),
        "model_version": at("model_version"),
        "t_ingest": timings.get("ingest"),
        "t_train": timings.get("train", timings.get("fit")),
        "t_predict": timings.get("predict"),
        "t_acquire": timings.get("acquire", timings.get("acquisition")),
        "variance_factor": last.get("variance_factor"),
        "structure_share": last.get("structure_share"),
        "fallback": int(fallback),
        "reason": "; ".join(failures),
    }


def should_stop(rec: Any) -> str:
    """Return why the recommender wants to stop (``""``: go on)."""
    stop = getattr(rec, "should_stop", None)
    try:
        why = stop() if callable(stop) else None
    except ModelFittingError:
        return ""
    return "" if not why else (why if isinstance(why, str) else "requested")


def decide(rec: Any, rng: np.random.Generator, n_cand: int, state: dict) -> dict | None:
    """Ask the recommender for the next point; a random unmeasured one if it fails.

    A recommender that refused a NaN value may suggest that point again: ask for
    one extra point per such NaN point and take the first one not measured.
    Returns ``None`` when nothing is left to measure.
    """
    t0 = time.perf_counter()
    done, nan_ids = set(state["measured"]), state["nan_ids"]
    try:
        pts = rec.suggest(max(1, min(1 + len(nan_ids), n_cand - len(done) + len(nan_ids))))
        fresh = [int(p["_id"]) for p in pts if int(p["_id"]) not in done]
        if not fresh:
            raise ModelFittingError("the recommender suggested only measured points")
        fields = decision_fields(getattr(rec, "last_decision", None) or {}, fresh[0])
        if state.get("error"):
            fields["reason"] = "; ".join(filter(None, [state.pop("error"), fields["reason"]]))
        fields["chosen_id"] = fresh[0]
    except NoRecommendation:
        return None
    except ModelFittingError as exc:
        left = np.setdiff1d(np.arange(n_cand), sorted(done))
        if left.size == 0:
            return None
        fields = {"chosen_id": int(rng.choice(left)), "fallback": 1}
        fields["reason"] = f"{type(exc).__name__}: {exc}"
    if fields.get("t_ingest") is None:
        fields["t_ingest"] = state["t_ingest"]
    total = ((getattr(rec, "last_decision", None) or {}).get("timings") or {}).get("total")
    if total is None or "train_loss" not in fields:  # no report, or ours (random fallback)
        total = time.perf_counter() - t0 + state["t_ingest"]
    fields["t_total"] = float(total)
    return fields


def maps(rec: Any, n_cand: int, k: int, map_every: int) -> dict[str, Any]:
    """Return mean, std and acquisition maps (N,) at the ``k``-th decision on the cadence, else {}.

    Called before :func:`decide`, so the acquisition map is the one the choice
    maximised and the model is fitted once per decision.
    """
    if not map_every or k % map_every:
        return {}
    try:
        mean, var = rec.predict()
        acq = rec.acquisition()
    except ModelFittingError:
        return {}
    std = np.sqrt(np.clip(np.asarray(var, dtype=float), 0.0, None))
    return {"mean_map": mean, "std_map": std, "acquisition_map": acq}


def steer_session(steering: Any, rec: Any, s: PlanSetup) -> Any:
    """Return the plan side of steering (:class:`autoscope.steering.stubs.PlanSteering`)."""
    from autoscope.steering.stubs import PlanSteering

    shape = tuple(s.ns.get("spectrum_shape") or ())
    return PlanSteering(steering, rec, s.budget, s.scalarizer.spec, s.axis, shape)


def force_decision(rec: Any, rng: Any, n_cand: int, state: dict, cid: int, who: str) -> dict:
    """Ask the model as usual (so a replay sees the same calls), then measure ``cid`` instead."""
    pending_before = list(getattr(rec, "pending", []))
    fields = decide(rec, rng, n_cand, state) or {"fallback": 1}
    if fields.get("chosen_id") != cid:  # as autoscope.replay does when it disagrees
        rec.clear_pending()
        if pending_before:
            rec.exclude(pending_before)
        fields.update(acq_value=None, pred_mean=None, pred_std=None)
    fields.update(chosen_id=int(cid), fallback=1, reason=f"forced by {who}")
    return fields


def dkl_loop(
    s: PlanSetup, config: dict, seed_ids: list[int], map_every: int, md: dict, make_recommender,
    *, steering: Any = None,
):  # fmt: skip
    """Run the experiment of :func:`autoscope.plans.dkl_explore` (arguments validated there).

    ``make_recommender(image, config)`` builds the recommender once the image is in.
    With a ``steering`` device, each step boundary first applies the queued
    interventions (:mod:`autoscope.steering`): budget, stop, forced points and
    the scalarizer then come from the steering session.
    """
    n_cand = len(s.candidates)
    point, geometry = PointInfo(name="point"), Geometry(name="geometry")
    decision = (DecisionWithMaps if map_every else Decision)(name="decision")
    decision.publish(n_cand)
    state: dict[str, Any] = {"nan_ids": set(), "t_ingest": float("nan")}
    outcome = {"reason": ""}

    def describe(image):
        if image is None:  # only listed, no RunEngine answered
            return s.geometry(geometry, config)
        rec = state["rec"] = make_recommender(image, config)
        if not np.array_equal(np.asarray(rec.candidates), s.candidates):
            raise InputDataError("the recommender's candidates differ from the plan's geometry")
        return s.geometry(geometry, getattr(rec, "config", config))

    def measure(rec, cid, step, phase):
        sess = state.get("steer")
        scalarize = sess.scalarize if sess else s.scalarize
        spectrum, value = yield from measure_point(
            s.microscope, point, scalarize, spectrum_key=s.spectrum_key, row=s.candidates[cid, 0],
            col=s.candidates[cid, 1], candidate_id=cid, step=step, phase=phase,
        )  # fmt: skip
        state["measured"].append(int(cid))
        if sess is not None and spectrum is not None:
            sess.measured(cid, spectrum, row=s.candidates[cid, 0], col=s.candidates[cid, 1])
        t0 = time.perf_counter()
        try:
            rec.ingest([{"_id": int(cid), "value": float(value)}])
        except InputDataError:
            if np.isfinite(value):
                raise
            state["nan_ids"].add(int(cid))  # this recommender takes no NaN: never ingested
        except ModelFittingError as exc:
            state["error"] = f"ingest: {type(exc).__name__}: {exc}"
        state["t_ingest"] = time.perf_counter() - t0
        yield from bps.checkpoint()

    @bpp.stage_decorator([s.microscope])
    @run_outcome_decorator(md=md, outcome=outcome)
    def inner():
        yield from acquire_image(s.microscope, describe)
        if "rec" not in state:
            return
        rec, state["measured"] = state["rec"], []
        if steering is not None:
            state["steer"] = steer_session(steering, rec, s)
        for step, cid in enumerate(seed_ids):
            yield from measure(rec, cid, step, "seed")
        step, reason = len(seed_ids), ""
        while not reason:
            forced = None
            if (sess := state.get("steer")) is not None:  # a step boundary: apply interventions
                yield from sess.step(step)
                forced = sess.session.next_forced()
            if sess is not None and sess.session.stop:
                reason = sess.session.stop
            elif step >= (s.budget if sess is None else sess.session.budget):
                reason = "budget"
            elif len(set(state["measured"])) >= n_cand:
                reason = "all candidates measured"
            elif why := should_stop(rec):
                reason = f"stopping criterion: {why}"
            else:
                # maps before the choice: the acquisition map is the one the choice maximised
                m = maps(rec, n_cand, step - len(seed_ids), map_every)
                if forced is not None:  # direct operation: still ask the model, then override
                    fields = force_decision(rec, s.rng, n_cand, state, *forced)
                elif (fields := decide(rec, s.rng, n_cand, state)) is None:
                    reason = "no recommendation"
                    continue
                fields.update(m)
                yield from record_decision(decision, n_cand, step=step, **fields)
                yield from bps.checkpoint()
                phase = "dkl" if forced is None else "forced"
                yield from measure(rec, fields["chosen_id"], step, phase)
                step += 1
        final = {"t_ingest": state["t_ingest"], **maps(rec, n_cand, 0, map_every)}
        yield from record_decision(
            decision, n_cand, step=step, chosen_id=-1, reason=reason, **final
        )
        outcome["reason"] = reason

    return (yield from inner())
