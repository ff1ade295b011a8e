"""Decisions overlapped with acquisition, and batches: the opt-in loop of :func:`dkl_explore`.

With ``overlap=True`` the decision for the next point is computed in a worker thread
while the current point is measured; the RunEngine's event loop only waits on the
worker's future (``bps.wait_for``), so pause and abort stay immediate. The point being
measured is *pending* at the recommender (never suggested again) but its value is not
known yet. With ``batch_size=q`` one decision picks ``q`` points
(:class:`~autoscope.recommender.batch.BatchSession`), then all of them are measured.
Both can be combined: the next batch is decided while the current one is measured.

What the model knew at every decision is recorded in the ``decisions`` stream:
``batch`` (the decision's index, shared by the points of one batch), ``n_known`` (the
first ``n_known`` measurements were ingested) and ``pending_ids`` (the points suggested
but not ingested). :func:`autoscope.replay.counterfactual` follows these fields, so a
replay with the run's own specs reproduces an overlapped or batched run exactly.

Where the decision event sits: without overlap, before its point's move, followed by a
checkpoint (as the default loop). With overlap, it is recorded while its point's spectrum
is acquired — after the trigger, before the wait for the detector and the point's
``primary`` event (a batch records all its decisions during its first point) — and the
worker starts right after it; inside the acquisition nothing is rewound, so no checkpoint
follows it there, and the point's own checkpoint after its event stays the place a pause
resumes from. A point whose move failed (no trigger) records its decision after its
event, with a checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp

from autoscope.recommender.batch import BatchSession
from autoscope.recommender.session import Step

__all__ = ["pipelined_steps"]

#: what a decision knew: (n_known, pending ids, the steps it returned)
Knowledge = tuple[int, list[int], list[Step]]


def _decide(session: BatchSession, q: int, inspect: Callable[[], Any]) -> Knowledge:
    """Take one decision, noting what the session had ingested and what was pending."""
    known, pending = len(session.measured), list(session.outstanding)
    return known, pending, session.next_batch(q, inspect)


def _wait(future: Future) -> Generator[Any, Any, None]:
    """Wait for the worker without blocking the RunEngine's event loop."""
    if not future.done():
        yield from bps.wait_for([lambda: asyncio.wrap_future(future)])


def _after_trigger(
    plan: Generator[Any, Any, Any],
    during: Callable[[], Generator[Any, Any, None]],
    otherwise: Callable[[], Generator[Any, Any, None]],
):
    """Relay ``plan``, running the plan ``during()`` once its first ``trigger`` has been processed.

    ``during()`` runs just before the message that follows the trigger (the trigger's
    reply has come back by then; for :func:`~autoscope.plan_stubs.measure_point` that is
    the ``wait`` for the detector), so it runs while the detector acquires and before
    the point's event is read and saved. When ``plan`` ends without a trigger (a failed
    move), ``otherwise()`` runs after it instead.

    The overlapped loop records its decision events and starts the decision worker
    there: the events then cost the instrument nothing, and the worker does not share
    the move and the trigger with the RunEngine's thread (a worker training in Python
    holds the GIL for up to the interpreter's switch interval, 5 ms, each time the
    RunEngine's thread asks for it, which delayed every message it shared the time with).
    """
    state = {"triggered": False, "started": False}

    def watch(msg: Any) -> tuple[Any, None]:
        if not state["started"]:
            if state["triggered"]:
                state["started"] = True

                def head() -> Generator[Any, Any, Any]:
                    yield from during()
                    return (yield msg)

                return head(), None
            if msg.command == "trigger":
                state["triggered"] = True
        return None, None

    result = yield from bpp.plan_mutator(plan, watch)
    if not state["started"]:
        state["started"] = True
        yield from otherwise()
    return result


def pipelined_steps(
    session: BatchSession,
    q: int,
    overlap: bool,
    inspect: Callable[[], Any],
    publish: Callable[..., Generator[Any, Any, None]],
    measure: Callable[[Step], Generator[Any, Any, float]],
) -> Generator[Any, Any, Step]:
    """Run the session to its end with batches of ``q`` and, if ``overlap``, a decision worker.

    Parameters
    ----------
    session : BatchSession
        The exploration session (seeds included).
    q : int
        Points per decision.
    overlap : bool
        Compute the next decision in a worker thread while the current points are
        measured (the first model decision runs while the last seed is measured, with
        that seed pending).
    inspect : callable
        The plan's maps hook (:meth:`ExplorationSession.next`'s ``inspect``); it runs
        in the worker with the rest of the decision.
    publish : callable
        ``publish(step, batch, n_known, pending, checkpoint=True)``: a plan recording one
        decision (``checkpoint``: follow the event with a checkpoint).
    measure : callable
        ``measure(step)``: a plan moving to and measuring the step's point and
        returning its value (the session records it here, never during a decision).

    Returns
    -------
    Step
        The stop step.
    """
    batch = 0
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoscope-decide")

    started: list[Future] = []

    def start() -> None:  # the next decision, once the first point is being acquired
        started.append(executor.submit(_decide, session, q, inspect))

    def record(steps: list[Step], b: int, known: int, pending: list[int], *, checkpoint: bool):
        if steps[0].phase != "seed":  # the seeds are no decisions
            for st in steps:
                yield from publish(st, b, known, pending, checkpoint=checkpoint)

    def in_worker() -> Generator[Any, Any, Knowledge]:  # a decision nothing overlaps
        future = executor.submit(_decide, session, q, inspect)
        yield from _wait(future)
        return future.result()

    try:
        if overlap:
            known, pending, steps = yield from in_worker()
        else:
            known, pending, steps = _decide(session, q, inspect)
        while not steps[0].stop:
            decided = (steps, batch, known, pending)
            batch += int(steps[0].phase != "seed")
            started.clear()

            def during(decided=decided) -> Generator[Any, Any, None]:  # while it acquires
                yield from record(*decided, checkpoint=False)  # nothing rewinds into it
                start()

            def otherwise(decided=decided) -> Generator[Any, Any, None]:  # nothing triggered
                yield from record(*decided, checkpoint=True)
                start()

            if not overlap:
                yield from record(*decided, checkpoint=True)
            values = []
            for j, st in enumerate(steps):
                if overlap and j == 0:
                    value = yield from _after_trigger(measure(st), during, otherwise)
                else:
                    value = yield from measure(st)
                if not overlap:
                    session.record(st.chosen_id, value)
                else:  # the worker reads the session: record once it is done
                    values.append((st.chosen_id, value))
            if not overlap:
                known, pending, steps = _decide(session, q, inspect)
                continue
            future = started[0]
            yield from _wait(future)
            for cid, value in values:
                session.record(cid, value)
            known, pending, steps = future.result()
        return steps[0]
    finally:  # an abort while the worker trains: let it finish on its own, never join it
        executor.shutdown(wait=False, cancel_futures=True)
