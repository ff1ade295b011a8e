"""What a decision records: a recommender's report mapped to the ``decisions`` stream's fields.

:func:`decision_fields` reads ``last_decision`` (the :class:`~autoscope.recommender.DKLRecommender`
layout, or scalar keys of simpler recommenders) at the chosen candidate and says whether the
decision was the model's own (``fallback = 0``) or not, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["decision_fields"]


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
        "chosen_id": int(chosen),
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
        "update": last.get("update"),
        "update_trigger": last.get("update_trigger"),
    }
