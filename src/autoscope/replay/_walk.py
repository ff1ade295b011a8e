"""The plan's bookkeeping, step for step: how ``dkl_explore`` measures and decides.

:class:`PlanWalk` repeats what ``autoscope.plans._dkl_plan`` does with its recommender
(ingest every measured value as it comes; before each decision ask the stopping rule,
then ``suggest`` one point plus one per refused NaN point and take the first one not
measured), so that a replay with the run's own specs makes exactly the run's calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoscope.errors import InputDataError, ModelFittingError, NoRecommendation

__all__ = ["PlanWalk"]


class PlanWalk:
    """The plan's measure/decide bookkeeping (``autoscope.plans._dkl_plan``), step for step."""

    def __init__(self, rec: Any, n_cand: int):
        self.rec, self.n_cand = rec, n_cand
        self.measured: list[int] = []
        self.nan_ids: set[int] = set()

    def measure(self, cid: int, value: float, chosen: int | None = -1) -> None:
        """Record a measurement as the plan does (NaN too, unless the recommender refuses it)."""
        self.measured.append(cid)
        try:
            self.rec.ingest([{"_id": cid, "value": float(value)}])
        except InputDataError:
            if np.isfinite(value):
                raise
            self.nan_ids.add(cid)  # never ingested: the run left it pending if it suggested it
            if chosen not in (-1, cid):  # ... and it did, not we: block it as the run did
                self.rec.exclude([cid])
        except ModelFittingError:
            pass

    def decide(self, actual: int) -> tuple[dict[str, Any], np.ndarray]:
        """Ask the stopping rule, then suggest exactly as the plan did; rank ``actual``."""
        rec, done = self.rec, set(self.measured)
        stop = _should_stop(rec)
        pending_before = list(rec.pending)
        k = max(1, min(1 + len(self.nan_ids), self.n_cand - len(done) + len(self.nan_ids)))
        row: dict[str, Any] = {"stop": stop, "chosen": None, "acq_value": np.nan,
                               "pred_mean": np.nan, "pred_std": np.nan}  # fmt: skip
        try:
            acq = np.asarray(rec.acquisition(), dtype=float)  # pure: same RNG stream as suggest
        except ModelFittingError:
            acq = np.full(self.n_cand, np.nan)
        avail = np.isfinite(acq)
        row["n_available"] = int(avail.sum())
        row["actual_acq"] = float(acq[actual])
        row["rank"] = int((acq[avail] > acq[actual]).sum()) if np.isfinite(acq[actual]) else -1
        try:
            pts = rec.suggest(k)
        except (NoRecommendation, ModelFittingError):
            return row, acq
        fresh = [int(p["_id"]) for p in pts if int(p["_id"]) not in done]
        if fresh:
            c = fresh[0]
            row["chosen"] = c
            last = getattr(rec, "last_decision", None) or {}
            pos = [int(p["_id"]) for p in pts].index(c)
            row["acq_value"] = _at(last.get("acquisition"), pos, acq[c])
            row["pred_mean"] = _at(last.get("mean"), pos, np.nan)
            row["pred_std"] = _at(last.get("std"), pos, np.nan)
        if row["chosen"] != actual:
            # the run suggested (and so left pending) its own points, not ours: undo ours
            rec.clear_pending()
            if pending_before:
                rec.exclude(pending_before)
        return row, acq


def _at(seq: Any, pos: int, default: float) -> float:
    try:
        v = seq[pos]
    except (TypeError, IndexError):
        return float(default)
    return float("nan") if v is None else float(v)


def _should_stop(rec: Any) -> str | None:
    stop = getattr(rec, "should_stop", None)
    try:
        return stop() if callable(stop) else None
    except ModelFittingError:
        return None
