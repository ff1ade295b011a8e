"""Follow a stored path through the plan's own loop, the exploration session.

:class:`PlanWalk` drives an :class:`~autoscope.recommender.ExplorationSession` (a
:class:`~autoscope.recommender.batch.BatchSession`, for batch runs) with
stored values instead of an instrument: seeds first, then at every decision the
session asks the stopping rule and the recommender exactly as
:func:`autoscope.plans.dkl_explore` did (the same object runs both), and the point the
run *actually* measured is recorded — withdrawing the replayed suggestion when it
differs, as the run withdrew a suggestion an operator overrode. A replay with the
run's own specs therefore makes exactly the run's calls. :func:`seed_count` and
:func:`decision_groups` read the path from a trace: its seed points, then its decisions
grouped by batch with the measurement each one chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.recommender.batch import BatchSession

if TYPE_CHECKING:
    from autoscope.trace import ExperimentTrace

__all__ = ["PlanWalk", "decision_groups", "seed_count"]


class PlanWalk:
    """Replay a run's path step for step through :class:`ExplorationSession`.

    Parameters
    ----------
    rec : recommender
        The rebuilt recommender.
    n_cand : int
        Number of candidates ``N``.
    seed_ids : sequence of int
        The run's seed points (its first measurements).
    """

    def __init__(self, rec: Any, n_cand: int, seed_ids: Sequence[int]):
        self.rec, self.n_cand = rec, n_cand
        # the path is given: no budget, no failure limit, the criterion only reported
        self.session = BatchSession(rec, n_cand, n_cand, seed_ids=seed_ids, follow_criterion=False)

    @property
    def n_recorded(self) -> int:
        """How many of the run's measurements the session has recorded."""
        return len(self.session.measured)

    def take_seeds(self) -> None:
        """Take the seed steps not taken yet (a decision made while the last seed was measured)."""
        while self.session.seeding:
            self.session.next()

    def measure(self, cid: int, value: float) -> None:
        """Record the run's measurement ``cid`` (a seed, or what followed a decision)."""
        if self.session.seeding:
            self.session.next()
        self.session.record(cid, value)

    def decide(self, actual: int) -> tuple[dict[str, Any], np.ndarray]:
        """Take the session's next decision; rank the run's ``actual`` choice.

        Returns
        -------
        row : dict
            ``stop`` (the recommender's criterion), ``chosen`` (its suggestion or
            ``None``), ``acq_value``/``pred_mean``/``pred_std`` there, ``n_available``,
            ``actual_acq`` and ``rank`` of ``actual``.
        acq : ndarray, shape (N,)
            The acquisition over the candidates before the choice (NaN: unavailable).
        """
        rows, acq = self.decide_batch([actual])
        return rows[0], acq

    def decide_batch(self, actuals: Sequence[int]) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Take one decision of ``len(actuals)`` points (a batch run's); one row per point.

        A batch of one is exactly :meth:`decide`. Each row is :meth:`decide`'s, the
        ranks taken in the acquisition before the batch.
        """
        seen: dict[str, np.ndarray] = {}

        def inspect() -> dict[str, Any]:
            try:  # pure: the same RNG stream as suggest
                seen["acq"] = np.asarray(self.rec.acquisition(), dtype=float)
            except ModelFittingError:
                pass
            return {}

        before = len(self.session.outstanding)
        steps = self.session.next_batch(len(actuals), inspect)
        if before or len(actuals) > 1:
            self._follow(steps, actuals)
        acq = seen.get("acq", np.full(self.n_cand, np.nan))
        avail = np.isfinite(acq)
        last = getattr(self.rec, "last_decision", None) or {}
        ids = [int(i) for i in last.get("ids") or ()]
        rows = []
        for j, actual in enumerate(actuals):
            step = steps[min(j, len(steps) - 1)]
            c = step.suggested if j < len(steps) else None
            row: dict[str, Any] = {"stop": step.would_stop, "chosen": c}
            row.update(acq_value=np.nan, pred_mean=np.nan, pred_std=np.nan)
            row["n_available"] = int(avail.sum())
            row["actual_acq"] = float(acq[actual])
            ok = np.isfinite(acq[actual])
            row["rank"] = int((acq[avail] > acq[actual]).sum()) if ok else -1
            if c is not None:
                pos = ids.index(c) if c in ids else -1
                row["acq_value"] = _at(last.get("acquisition"), pos, acq[c])
                row["pred_mean"] = _at(last.get("mean"), pos, np.nan)
                row["pred_std"] = _at(last.get("std"), pos, np.nan)
            rows.append(row)
        return rows, acq

    def _follow(self, steps: Sequence[Any], actuals: Sequence[int]) -> None:
        """Hold the run's points in flight as pending, not the replayed suggestions.

        With several points outstanding (an overlapped or batch run), a replayed
        suggestion that differs from the run's point is replaced by it, in the session
        and at the recommender (``set_pending``), as the run had it.
        """
        out = self.session.outstanding
        for st, actual in zip(steps, actuals, strict=False):
            if not st.stop and st.chosen_id != actual and st.chosen_id in out:
                out[out.index(st.chosen_id)] = int(actual)
        set_pending = getattr(self.rec, "set_pending", None)
        if callable(set_pending):
            set_pending(out)


def _at(seq: Any, pos: int, default: float) -> float:
    if pos < 0:
        return float(default)
    try:
        v = seq[pos]
    except (TypeError, IndexError):
        return float(default)
    return float("nan") if v is None else float(v)


def seed_count(trace: ExperimentTrace, n_meas: int) -> int:
    """Return how many of the run's first ``n_meas`` measurements were seed points."""
    phases = list(getattr(trace, "phases", []) or [])
    n = sum(1 for p in phases if p == "seed") if phases else int(trace.specs.get("n_seed") or 0)
    return min(n, n_meas)


def decision_groups(
    decisions: list[dict[str, Any]], ids: list[int], n_seed: int
) -> list[list[tuple[int, int, dict[str, Any]]]]:
    """Group the run's decisions ``(t, step, record)`` by ``batch`` (one each in a plain run).

    Decisions whose point was never measured (the run stopped in between) are dropped.

    Raises
    ------
    InputDataError
        A decision's ``chosen_id`` is not the measurement at its step.
    """
    groups: list[list[tuple[int, int, dict[str, Any]]]] = []
    for t, dec in enumerate(decisions):
        step = int(dec.get("step", n_seed + t))
        if step >= len(ids):
            break  # the run stopped between this decision and its measurement
        if int(dec["chosen_id"]) != ids[step]:
            raise InputDataError(
                f"decision {t} chose {dec['chosen_id']} but measurement {step} is candidate "
                f"{ids[step]}: the trace's decisions and measurements are inconsistent"
            )
        same = groups and "batch" in dec and dec["batch"] == groups[-1][-1][2].get("batch")
        if same:
            groups[-1].append((t, step, dec))
        else:
            groups.append([(t, step, dec)])
    return groups
