"""The run of :func:`autoscope.plans.dkl_explore`: Bluesky messages around the exploration session.

:func:`dkl_loop` acquires the image, builds the recommender and an
:class:`~autoscope.recommender.ExplorationSession`, then turns each of the session's
steps into messages: (steering boundary,) decision event, move, measure, checkpoint
(with ``overlap=True`` the decision event is recorded during the acquisition instead:
:mod:`autoscope.plans.pipeline`).
What a step is — seeds, stopping, failed points, fallbacks, forced points — is the
session's, so replay and the benchmark run the very same loop. :func:`maps` returns
the predicted mean / std / acquisition over the candidates on the plan's cadence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
import numpy as np

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.models import warm_up
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
from autoscope.plans.pipeline import pipelined_steps
from autoscope.plans.setup import PlanSetup
from autoscope.recommender.batch import BatchSession
from autoscope.recommender.session import Step

__all__ = ["dkl_loop", "maps", "warm_in_background"]

logger = logging.getLogger(__name__)


def maps(rec: Any, n_cand: int, k: int, map_every: int) -> dict[str, Any]:
    """Return mean, std and acquisition maps (N,) at the ``k``-th decision on the cadence, else {}.

    Called before the recommender is asked, so the acquisition map is the one the
    choice maximised and the model is fitted once per decision.
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


def warm_in_background() -> threading.Thread:
    """Start :func:`autoscope.models.warm_up` in a daemon thread; return the thread.

    Called once the recommender is built, before the first seed point is measured: the
    one-time imports of the first training (``torch._dynamo``, about 1 s of CPU) then
    happen while the seeds are measured instead of inside the first decision. Nothing
    the run decides depends on it.
    """

    def warm() -> None:
        try:
            warm_up()
        except Exception as exc:  # noqa: BLE001 - only a missed speed-up; the fit will tell
            logger.debug("warm-up failed: %s: %s", type(exc).__name__, exc)

    thread = threading.Thread(target=warm, name="autoscope-warm-up", daemon=True)
    thread.start()
    return thread


def _steer(steering: Any, rec: Any, s: PlanSetup) -> Any:
    """Return the plan side of steering (:class:`autoscope.steering.stubs.PlanSteering`)."""
    from autoscope.steering.stubs import PlanSteering

    shape = tuple(s.ns.get("spectrum_shape") or ())
    return PlanSteering(steering, rec, s.budget, s.scalarizer.spec, s.axis, shape)


def dkl_loop(
    s: PlanSetup,
    config: dict[str, Any],
    seed_ids: list[int],
    map_every: int,
    md: dict[str, Any],
    make_recommender: Callable[[np.ndarray, dict[str, Any]], Any],
    *,
    steering: Any = None,
    max_failures: int | None = None,
    history: tuple[list[int], list[float]] | None = None,
    overlap: bool = False,
    batch_size: int = 1,
):
    """Run the experiment of :func:`autoscope.plans.dkl_explore` (arguments validated there).

    ``make_recommender(image, config)`` builds the recommender once the image is in.
    With a ``steering`` device, each step boundary first applies the queued
    interventions (:mod:`autoscope.steering`): budget, stop, forced points and
    the scalarizer then come from the steering session. The run's stop document
    carries the session's stop reason; ``"detector"`` (``max_failures`` failed
    points in a row) closes it with ``exit_status="fail"``. ``history``, the
    measured ids and values of a run being resumed, is replayed through the session
    first (:func:`autoscope.plans.dkl_resume`). ``overlap`` or ``batch_size > 1`` run
    the steps through :func:`autoscope.plans.pipeline.pipelined_steps` instead.
    """
    n_cand, n_seed = len(s.candidates), len(seed_ids)
    point, geometry = PointInfo(name="point"), Geometry(name="geometry")
    decision = (DecisionWithMaps if map_every else Decision)(name="decision")
    decision.publish(n_cand)
    built: dict[str, Any] = {}
    outcome = {"reason": ""}

    def describe(image):
        if image is None:  # only listed, no RunEngine answered
            return s.geometry(geometry, config)
        rec = built["rec"] = make_recommender(image, config)
        if not np.array_equal(np.asarray(rec.candidates), s.candidates):
            raise InputDataError("the recommender's candidates differ from the plan's geometry")
        return s.geometry(geometry, getattr(rec, "config", config))

    def measure(session: Any, sess: Any, cid: int, step: int, phase: str):
        scalarize = sess.scalarize if sess else s.scalarize
        spectrum, value = yield from measure_point(
            s.microscope, point, scalarize, spectrum_key=s.spectrum_key, row=s.candidates[cid, 0],
            col=s.candidates[cid, 1], candidate_id=cid, step=step, phase=phase,
        )  # fmt: skip
        if sess is not None and spectrum is not None:
            sess.measured(cid, spectrum, row=s.candidates[cid, 0], col=s.candidates[cid, 1])
        if session is not None:
            session.record(cid, value)
        yield from bps.checkpoint()
        return value

    def publish(step: Step, batch: int, n_known: int, pending: list[int], checkpoint=True):
        who: dict[str, Any] = {"batch": batch, "n_known": n_known}
        who["pending_ids"] = ",".join(map(str, pending))
        yield from record_decision(decision, n_cand, step=step.index, **step.fields, **who)
        if checkpoint:  # not inside an acquisition (overlap): a pause there resumes in place
            yield from bps.checkpoint()

    @bpp.stage_decorator([s.microscope])
    @run_outcome_decorator(md=md, outcome=outcome)
    def inner():
        yield from acquire_image(s.microscope, describe)
        if "rec" not in built:
            return
        rec = built["rec"]
        warm_in_background()  # the first decision's one-time costs, while the seeds are measured
        session = BatchSession(
            rec, n_cand, s.budget, seed_ids=seed_ids, max_failures=max_failures, rng=s.rng
        )
        if history is not None:  # a resumed run: where the old one left off
            session.catch_up(*history)
        sess = _steer(steering, rec, s) if steering is not None else None

        def inspect():  # maps before the choice: the acquisition map is the one it maximised
            return maps(rec, n_cand, session.step - n_seed, map_every)

        def one_by_one():  # the default: decide, then measure, at every step
            n_decisions = 0
            while True:
                if sess is not None and not session.seeding:  # a step boundary: interventions
                    yield from sess.step(session.step)
                    session.budget = sess.session.budget
                    if (forced := sess.session.next_forced()) is not None:
                        session.force(*forced)
                    if sess.session.stop:
                        session.request_stop(sess.session.stop)
                step = session.next(inspect)
                if step.stop:
                    return step
                if step.phase != "seed":
                    yield from publish(step, n_decisions, len(session.measured), [])
                    n_decisions += 1
                yield from measure(session, sess, step.chosen_id, step.index, step.phase)

        def measure_step(st: Step):  # the pipeline records the value itself
            return (yield from measure(None, None, st.chosen_id, st.index, st.phase))

        if overlap or batch_size > 1:  # opt-in: decisions overlapped with acquisition, batches
            step = yield from pipelined_steps(
                session, batch_size, overlap, inspect, publish, measure_step
            )
        else:
            step = yield from one_by_one()
        final: dict[str, Any] = {"t_ingest": session.t_ingest, "n_known": len(session.measured)}
        final.update(maps(rec, n_cand, 0, map_every))
        yield from record_decision(
            decision, n_cand, step=step.index, chosen_id=-1, reason=step.reason, **final
        )
        outcome.update(reason=step.reason, exit_status=step.exit_status)

    return (yield from inner())
