"""The recommender: where to measure next, and the one exploration loop that asks it.

- :class:`DKLRecommender` (:mod:`~autoscope.recommender.dkl`): candidates + surrogate
  model + acquisition policy, with ``suggest``/``ingest`` in the shape of
  ``bluesky_adaptive.protocols.Optimizer``;
- :class:`ExplorationSession` (:mod:`~autoscope.recommender.session`): the loop of an
  experiment in pure Python — what is measured, pending, failed, excluded and forced,
  when to stop and why — driven by the plan (:func:`autoscope.plans.dkl_explore`),
  replay (:func:`autoscope.replay.counterfactual`) and the benchmark alike;
- the parts: :mod:`~autoscope.recommender.candidates`,
  :mod:`~autoscope.recommender.surrogate`, :mod:`~autoscope.recommender.model_chain`,
  :mod:`~autoscope.recommender.exploration`, :mod:`~autoscope.recommender.objectives`,
  :mod:`~autoscope.recommender.stopping`, :mod:`~autoscope.recommender.calibration`.

``DKLRecommender`` is imported on first use, so that plans can validate specs and run
the session without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autoscope.recommender.decisions import decision_fields
from autoscope.recommender.session import ExplorationSession, Step

if TYPE_CHECKING:
    from autoscope.recommender.dkl import DKLRecommender

__all__ = ["DKLRecommender", "ExplorationSession", "Step", "decision_fields"]


def __getattr__(name: str) -> Any:
    if name == "DKLRecommender":
        from autoscope.recommender.dkl import DKLRecommender

        return DKLRecommender
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
