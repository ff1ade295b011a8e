"""The exploration session: the one decide-and-measure loop, in pure Python.

:class:`ExplorationSession` owns what a step of an autonomous experiment is: which
candidates were measured (and in what order), which failed, which suggestion is
outstanding, which points an operator forced, when the experiment stops and why, and
what a decision that did not come from the model records. Every driver feeds it the
same way::

    session = ExplorationSession(rec, n_candidates=N, budget=100, seed_ids=seeds)
    while not (step := session.next()).stop:
        value = measure(step.chosen_id)         # the plan: Bluesky messages around it
        session.record(step.chosen_id, value)   # replay: a stored value; bench: the truth

so :func:`autoscope.plans.dkl_explore`, :func:`autoscope.replay.counterfactual` and
:mod:`autoscope.bench` make exactly the same calls on the recommender, and a replay
with the run's own specs reproduces the run by construction.

Rules (one place):

- **Seeds** first, in the order given, without asking the recommender.
- **Stop**, checked before every decision, first match wins: an operator's request;
  ``max_failures`` consecutive failed points (``"detector"``, a failing exit status);
  the budget (``"budget"``, points measured or outstanding); every candidate measured
  (``"all candidates measured"``); the recommender's own criterion
  (``"stopping criterion: <why>"``); nothing left to suggest (``"no recommendation"``).
- **A failed point** (a non-finite value: empty, short, NaN or inf spectrum, failing
  scalarizer; or one beyond ``+-1e50``, which no model can use) counts as measured and
  is never measured again. It is offered to the recommender as NaN
  (``DKLRecommender`` records it and leaves it out of training); a recommender that
  refuses NaN never sees it, and the session then asks for one
  more point per refused one and keeps the first that is new.
- **A decision that is not the model's** is recorded with ``fallback = 1`` and why:
  a model fallback (``phase`` ``"fallback"``/``"maxmin"`` or fit failures), a
  :class:`~autoscope.errors.ModelFittingError` or an invalid suggestion (a random
  unmeasured candidate is measured instead), a forced point (the model is still asked,
  so that a replay sees the same calls, and its suggestion is withdrawn).
- **A point measured other than the one suggested** (forced, or a replay following a
  stored path) withdraws the suggestion: the recommender's pending marks are cleared
  and the points pending before it are excluded, as the run did.

Several outstanding suggestions are allowed (call :meth:`~ExplorationSession.next`
again before :meth:`~ExplorationSession.record`): the recommender knows them as
pending, which is what overlapping the next decision with the current measurement, or
batches, need.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope._validate import check_int
from autoscope.errors import InputDataError, ModelFittingError, NoRecommendation
from autoscope.recommender.decisions import decision_fields
from autoscope.recommender.objectives import MAX_ABS_VALUE

__all__ = ["DEFAULT_MAX_FAILURES", "FAILING_REASONS", "ExplorationSession", "Step"]

#: consecutive failed points that stop a plan or benchmark run (``"detector"``)
DEFAULT_MAX_FAILURES = 5

#: stop reasons that mean the run failed (its stop document says ``exit_status="fail"``)
FAILING_REASONS = ("detector",)


@dataclass
class Step:
    """One step of a session: a candidate to measure, or the end.

    Attributes
    ----------
    index : int
        Measurement index this step fills (``point_step``); at the end, the number of
        points measured or outstanding.
    chosen_id : int
        Candidate to measure; ``-1`` when the session stops.
    phase : str
        ``"seed"``, ``"dkl"`` (the recommender's decision, fallbacks included),
        ``"forced"`` or ``"stop"``.
    reason : str
        Why the session stops (``phase == "stop"``), else ``""``.
    fields : dict
        Fields of the ``decisions`` stream (:class:`~autoscope.plan_stubs.Decision`):
        ``chosen_id``, ``acq_value``, ``pred_mean``, ``pred_std``, ``fallback``,
        ``reason``, timings ``t_*`` (s), plus whatever the ``inspect`` hook returned.
    suggested : int or None
        What the recommender itself suggested at this step (``None`` for seeds, when it
        could not suggest, or suggested nothing valid).
    would_stop : str or None
        The recommender's own stopping criterion at this step (``None``: go on).
    """

    index: int
    chosen_id: int
    phase: str
    reason: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    suggested: int | None = None
    would_stop: str | None = None

    @property
    def stop(self) -> bool:
        """Whether the session has stopped."""
        return self.chosen_id < 0

    @property
    def exit_status(self) -> str:
        """``"fail"`` for a stop that means the run failed (a dead detector), else ``"success"``."""
        return "fail" if self.reason in FAILING_REASONS else "success"


class ExplorationSession:
    """The loop of one exploration: seeds, decisions, failures, forced points, stopping.

    Parameters
    ----------
    recommender : Recommender
        Anything with ``suggest(n)`` and ``ingest(points)``; used when present:
        ``last_decision`` (what the decision reports), ``should_stop()``, ``pending``,
        ``clear_pending()`` and ``exclude(ids)``.
    n_candidates : int
        Number of candidates ``N`` (ids ``0..N-1``).
    budget : int
        Points to measure in all, seeds included; may be changed between steps
        (steering).
    seed_ids : sequence of int
        Seed points, measured first in this order.
    max_failures : int or None
        Consecutive failed points that stop the session with reason ``"detector"``
        (``None``: never).
    rng : numpy.random.Generator, optional
        Draws the random candidate measured when the recommender fails.
    follow_criterion : bool
        ``False`` records the recommender's stopping criterion in
        :attr:`Step.would_stop` without stopping (a replay following a stored path).

    Raises
    ------
    InputDataError
        A bad count, budget or seed id.
    """

    def __init__(
        self,
        recommender: Any,
        n_candidates: int,
        budget: int,
        *,
        seed_ids: Sequence[int] = (),
        max_failures: int | None = None,
        rng: np.random.Generator | None = None,
        follow_criterion: bool = True,
    ):
        self.rec = recommender
        self.n_candidates = check_int("n_candidates", n_candidates, 1)
        self.budget = check_int("budget", budget, 0)
        self.seed_ids = [check_int("seed id", i, 0, self.n_candidates - 1) for i in seed_ids]
        if len(set(self.seed_ids)) != len(self.seed_ids):
            raise InputDataError(f"seed ids must be distinct, got {self.seed_ids}")
        self.max_failures = None if max_failures is None else check_int(
            "max_failures", max_failures, 1
        )  # fmt: skip
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.follow_criterion = bool(follow_criterion)
        self.measured: list[int] = []
        self.values: list[float] = []
        self.failed: list[int] = []
        self.outstanding: list[int] = []
        self.forced: list[tuple[int, str]] = []
        self.stop_request: str | None = None
        self.consecutive_failures = 0
        self.t_ingest = float("nan")
        self._refused: set[int] = set()
        self._pending_before: list[int] = []
        self._error = ""

    # -- state ------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """Index of the next measurement (points measured or outstanding)."""
        return len(self.measured) + len(self.outstanding)

    @property
    def seeding(self) -> bool:
        """Whether seed points remain to be measured."""
        return self.step < len(self.seed_ids)

    def force(self, candidate_id: int, who: str = "operator") -> None:
        """Measure ``candidate_id`` at the next decision (the model is still asked)."""
        self.forced.append((check_int("forced id", candidate_id, 0, self.n_candidates - 1), who))

    def request_stop(self, reason: str) -> None:
        """Stop at the next step boundary with ``reason`` (an operator's stop)."""
        self.stop_request = str(reason) or "requested"

    # -- the loop ---------------------------------------------------------------------------
    def next(self, inspect: Callable[[], Mapping[str, Any]] | None = None) -> Step:
        """Return the next point to measure, or why the session stops.

        Parameters
        ----------
        inspect : callable, optional
            Called once the stopping rules let a decision happen, just before the
            recommender is asked (the plan's maps, a replay's ranking); the mapping it
            returns is merged into :attr:`Step.fields`.
        """
        k = self.step
        reason = self._stop_reason()
        if self.seeding and not reason:
            self.outstanding.append(self.seed_ids[k])
            return Step(k, self.seed_ids[k], "seed")
        would = None
        if not reason:
            would = self._criterion()
            if would and self.follow_criterion:
                reason = f"stopping criterion: {would}"
        if reason:
            return Step(k, -1, "stop", reason, {"t_ingest": self.t_ingest}, would_stop=would)
        extra = dict(inspect()) if inspect is not None else {}
        forced = self._next_forced()
        fields, suggested = self._decide()
        if forced is not None:
            cid, who = forced
            if fields is None or fields["chosen_id"] != cid:
                self._withdraw()
                fields = dict(fields or {}, acq_value=None, pred_mean=None, pred_std=None)
            fields.update(chosen_id=cid, fallback=1, reason=f"forced by {who}")
        if fields is None:
            return Step(k, -1, "stop", "no recommendation", {"t_ingest": self.t_ingest})
        fields.update(extra)
        self.outstanding.append(int(fields["chosen_id"]))
        phase = "dkl" if forced is None else "forced"
        return Step(k, int(fields["chosen_id"]), phase, "", fields, suggested, would)

    def record(self, candidate_id: int, value: float) -> None:
        """Record the value measured at ``candidate_id`` (non-finite or absurd: a failed point).

        Raises
        ------
        InputDataError
            An unknown id, or a finite value the recommender refuses.
        """
        cid = check_int("candidate id", candidate_id, 0, self.n_candidates - 1)
        if cid in self.outstanding:
            self.outstanding.remove(cid)
        elif self.outstanding:  # a stored path went elsewhere: withdraw the suggestion
            if self.outstanding.pop(0) not in self.seed_ids:
                self._withdraw()
        v = float(value)
        self.measured.append(cid)
        self.values.append(v)
        ok = math.isfinite(v) and abs(v) <= MAX_ABS_VALUE
        self.consecutive_failures = 0 if ok else self.consecutive_failures + 1
        if not ok:
            self.failed.append(cid)
            v = math.nan
        t0 = time.perf_counter()
        try:
            self.rec.ingest([{"_id": cid, "value": v}])
        except InputDataError:
            if ok:
                raise
            self._refused.add(cid)  # this recommender takes no NaN: never ingested
        except ModelFittingError as exc:
            self._error = f"ingest: {type(exc).__name__}: {exc}"
        self.t_ingest = time.perf_counter() - t0

    def catch_up(self, measured_ids: Sequence[int], values: Sequence[float]) -> list[Step]:
        """Bring a fresh session (and recommender) to where a stored run left off.

        At every stored measurement the session takes the step the run took (a seed,
        or a decision: stop rules asked, the recommender asked) and records the stored
        point and value, withdrawing its own suggestion where the run measured
        another point. The recommender then holds what the run's held at its last
        measurement, its decision counter included, so the next :meth:`next` is the
        decision the run would have made (how a crashed run is resumed).

        Parameters
        ----------
        measured_ids : sequence of int
            The run's measured candidates, in order.
        values : sequence of float
            Their values (NaN for failed points).

        Returns
        -------
        list of Step
            The steps taken (a decision's ``suggested`` shows what the model chose).

        Raises
        ------
        InputDataError
            Lengths differ, or the stored path goes past a stop (other than the
            recommender's own criterion) of this session.
        """
        if len(measured_ids) != len(values):
            raise InputDataError(
                f"need one value per measured id, got {len(measured_ids)} ids, {len(values)} values"
            )
        steps = []
        for cid, v in zip(measured_ids, values, strict=True):
            follow, self.follow_criterion = self.follow_criterion, False
            try:
                step = self.next()
            finally:
                self.follow_criterion = follow
            if step.stop:
                raise InputDataError(
                    f"the stored run goes on after this session stops ({step.reason}) at "
                    f"measurement {step.index}"
                )
            steps.append(step)
            self.record(int(cid), float(v))
        return steps

    # -- internals --------------------------------------------------------------------------
    def _stop_reason(self) -> str:
        if self.stop_request:
            return self.stop_request
        if self.max_failures is not None and self.consecutive_failures >= self.max_failures:
            return "detector"
        if self.step >= self.budget:
            return "budget"
        if len(set(self.measured) | set(self.outstanding)) >= self.n_candidates:
            return "all candidates measured"
        return ""

    def _criterion(self) -> str | None:
        stop = getattr(self.rec, "should_stop", None)
        try:
            why = stop() if callable(stop) else None
        except ModelFittingError:
            return None
        return None if not why else (why if isinstance(why, str) else "requested")

    def _next_forced(self) -> tuple[int, str] | None:
        done = set(self.measured) | set(self.outstanding)
        while self.forced:
            cid, who = self.forced.pop(0)
            if cid not in done:
                return cid, who
        return None

    def _withdraw(self) -> None:
        """Undo the pending mark of a suggestion that is not measured (as the run did)."""
        clear = getattr(self.rec, "clear_pending", None)
        if callable(clear):
            clear()
            if self._pending_before:
                self.rec.exclude(self._pending_before)

    def _decide(self) -> tuple[dict[str, Any] | None, int | None]:
        """Ask the recommender; a random unmeasured candidate when it fails."""
        t0 = time.perf_counter()
        done = set(self.measured) | set(self.outstanding)
        left = self.n_candidates - len(done)
        self._pending_before = [int(i) for i in getattr(self.rec, "pending", ())]
        last: Mapping[str, Any] = {}
        try:
            pts = self.rec.suggest(max(1, min(1 + len(self._refused), left + len(self._refused))))
            ids = [p.get("_id") if isinstance(p, Mapping) else None for p in pts]
            fresh = [
                int(i) for i in ids
                if isinstance(i, int | np.integer) and not isinstance(i, bool)
                and 0 <= i < self.n_candidates and int(i) not in done
            ]  # fmt: skip
            if not fresh:
                raise ModelFittingError(f"the recommender suggested no new candidate: {ids}")
            last = getattr(self.rec, "last_decision", None) or {}
            fields = decision_fields(last, fresh[0])
            suggested: int | None = fresh[0]
        except NoRecommendation:
            return None, None
        except ModelFittingError as exc:
            pool = np.setdiff1d(np.arange(self.n_candidates), sorted(done))
            if pool.size == 0:
                return None, None
            fields = {"chosen_id": int(self.rng.choice(pool)), "fallback": 1}
            fields["reason"] = f"{type(exc).__name__}: {exc}"
            suggested, last = None, {}
        if self._error:
            fields["reason"] = "; ".join(filter(None, [self._error, fields.get("reason", "")]))
            self._error = ""
        fields.setdefault("chosen_id", suggested)
        if fields.get("t_ingest") is None:
            fields["t_ingest"] = self.t_ingest
        total = (last.get("timings") or {}).get("total")
        if total is None or suggested is None:  # no report, or our random fallback
            t_ingest = self.t_ingest if math.isfinite(self.t_ingest) else 0.0
            total = time.perf_counter() - t0 + t_ingest
        fields["t_total"] = float(total)
        return fields, suggested
