"""Post-hoc analysis of stored runs: counterfactual scalarizers, explainable retrace, feature space.

Everything here reads an :class:`~autoscope.trace.ExperimentTrace` (a run loaded from
Tiled by :func:`autoscope.trace.load`) and never an instrument, so it runs on any
machine that can read the catalog (an analyst's laptop reading a facility server).

- :func:`counterfactual`: follow the run's actual path with another scalarizer,
  policy or model; what would the model have chosen at each step? With the run's own
  specs it reproduces the stored decisions exactly.
- :func:`retrace`: each step seen by the model trained on the whole run (surprise,
  exploitation vs exploration, which measurements changed the map most).
- :func:`feature_space`: all patches embedded once (PCA or a small VAE), the
  trajectory drawn on it, and the run's own DKL embedding.
- :func:`best_channel`: which structural channel (or combination) predicts the
  measured scalar best.
- :func:`compare`: several runs side by side (best so far, paths, coverage).

Results are dataclasses of numpy arrays with a ``figure()`` method returning a
:class:`matplotlib.figure.Figure`; :mod:`autoscope.replay.figures` draws them.

Examples
--------
>>> from autoscope import replay, trace  # doctest: +SKIP
>>> tr = trace.load(uid, catalog="http://tiled.example:8000")  # doctest: +SKIP
>>> replay.counterfactual(tr).chosen_ids == tr.chosen_ids  # doctest: +SKIP
True
"""

from __future__ import annotations

from autoscope.replay.channels import best_channel
from autoscope.replay.compare import CompareResult, compare
from autoscope.replay.counterfactual import CounterfactualResult, counterfactual
from autoscope.replay.feature_space import FeatureSpaceResult, feature_space
from autoscope.replay.retrace import RetraceResult, retrace

__all__ = [
    "CompareResult",
    "CounterfactualResult",
    "FeatureSpaceResult",
    "RetraceResult",
    "best_channel",
    "compare",
    "counterfactual",
    "feature_space",
    "retrace",
]
