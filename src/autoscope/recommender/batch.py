"""Batches of decisions: an exploration session that picks ``q`` points per decision.

A fast detector (an EELS spectrum image at ~400 spectra/s, a 4D-STEM camera) measures
a point far faster than a model decides, so the plan asks for several points at once.
:class:`BatchSession` is :class:`~autoscope.recommender.ExplorationSession` plus
:meth:`~BatchSession.next_batch`: one call of the recommender's ``suggest(q)`` gives
``q`` distinct candidates, each recorded as its own decision.

**Which batch.** :class:`~autoscope.recommender.DKLRecommender` builds the batch
greedily with the *kriging believer* (:meth:`autoscope.policies.Policy.choose`): after
each pick the posterior variance is conditioned on that point (a rank-one update of
the committee's posterior covariance) and the pick's predicted mean is appended to the
observed values as if measured, then the policy scores the candidates again. This is
used rather than botorch's Monte-Carlo ``qLogExpectedImprovement`` because every
policy of :mod:`autoscope.policies` (EI, UCB, Thompson, cost-aware, ...) gets a batch
this way from the same posterior it decides on — a committee of models whose mixture
is not a botorch ``Posterior`` — and the batch is deterministic given the decision's
seed, so a replay reproduces it exactly. The first point of a batch is the point a
``q = 1`` decision would have chosen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from autoscope._validate import check_int
from autoscope.errors import ModelFittingError, NoRecommendation
from autoscope.recommender.decisions import decision_fields
from autoscope.recommender.session import ExplorationSession, Step

__all__ = ["BatchSession"]


class BatchSession(ExplorationSession):
    """An :class:`~autoscope.recommender.ExplorationSession` that can decide ``q`` points at once.

    Takes the same parameters; :meth:`next` is unchanged.
    """

    def next_batch(
        self, q: int, inspect: Callable[[], Mapping[str, Any]] | None = None
    ) -> list[Step]:
        """Return up to ``q`` points to measure (one decision), or ``[stop]``.

        The stop rules are checked once, before the decision. The batch is cut to the
        budget and to the candidates left; seeds, a forced point, or a batch of one go
        through :meth:`next` (one step, exactly as a ``q = 1`` run). Every point of the
        batch is outstanding (pending at the recommender) until recorded. When the
        recommender fails, the batch is as many distinct random unmeasured candidates,
        each recorded with ``fallback = 1``.

        Parameters
        ----------
        q : int
            Points per decision (>= 1).
        inspect : callable, optional
            As for :meth:`next`; its fields go to the batch's first step.

        Returns
        -------
        list of Step
            Consecutive measurement indices; a single stop step when the session stops.
        """
        q = check_int("batch_size", q, 1)
        self._hold_seeds()
        k = self.step
        done = set(self.measured) | set(self.outstanding)
        room = min(q, self.budget - k, self.n_candidates - len(done))
        if room <= 1 or self.seeding or self.forced or self._stop_reason():
            return [self.next(inspect)]
        would = self._criterion()
        if would and self.follow_criterion:
            reason = f"stopping criterion: {would}"
            return [Step(k, -1, "stop", reason, {"t_ingest": self.t_ingest}, would_stop=would)]
        extra = dict(inspect()) if inspect is not None else {}
        t0 = time.perf_counter()
        self._pending_before = [int(i) for i in getattr(self.rec, "pending", ())]
        last: Mapping[str, Any] = {}
        suggested: list[int | None]
        try:
            pts = self.rec.suggest(room + len(self._refused))
            fresh: list[int] = []
            for p in pts:
                i = p.get("_id") if isinstance(p, Mapping) else None
                if not isinstance(i, int | np.integer) or isinstance(i, bool):
                    continue
                if 0 <= i < self.n_candidates and int(i) not in done | set(fresh):
                    fresh.append(int(i))
            fresh = fresh[:room]
            if not fresh:
                raise ModelFittingError(f"the recommender suggested no new candidate: {pts}")
            last = getattr(self.rec, "last_decision", None) or {}
            rows = [decision_fields(last, c) for c in fresh]
            suggested = list(fresh)
        except NoRecommendation:
            return [Step(k, -1, "stop", "no recommendation", {"t_ingest": self.t_ingest})]
        except ModelFittingError as exc:
            pool = np.setdiff1d(np.arange(self.n_candidates), sorted(done))
            picks = self.rng.choice(pool, min(room, pool.size), replace=False)
            why = f"{type(exc).__name__}: {exc}"
            rows = [{"chosen_id": int(c), "fallback": 1, "reason": why} for c in picks]
            suggested = [None] * len(rows)
        if self._error:
            for f in rows:
                f["reason"] = "; ".join(filter(None, [self._error, f.get("reason", "")]))
            self._error = ""
        total = (last.get("timings") or {}).get("total")
        if total is None or suggested[0] is None:
            t_ingest = self.t_ingest if math.isfinite(self.t_ingest) else 0.0
            total = time.perf_counter() - t0 + t_ingest
        steps = []
        for j, (f, s) in enumerate(zip(rows, suggested, strict=True)):
            if f.get("t_ingest") is None:
                f["t_ingest"] = self.t_ingest
            f["t_total"] = float(total)
            if j == 0:
                f.update(extra)
            self.outstanding.append(int(f["chosen_id"]))
            steps.append(Step(k + j, int(f["chosen_id"]), "dkl", "", f, s, would))
        return steps

    def _hold_seeds(self) -> None:
        """Make seeds still being measured pending at the recommender (it never saw them suggested).

        Only an overlapped run decides while a seed is in flight (the first decision,
        during the last seed); a plain run has nothing outstanding when it decides.
        """
        held = [i for i in self.outstanding if i in self.seed_ids]
        set_pending = getattr(self.rec, "set_pending", None)
        if held and not self.seeding and callable(set_pending):
            set_pending(sorted({int(i) for i in getattr(self.rec, "pending", ())} | set(held)))
