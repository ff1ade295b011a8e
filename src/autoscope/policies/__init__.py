"""Acquisition policies: where to measure next, by name and JSON spec.

A policy scores every candidate from the model posterior (higher is better) and
selects ``q`` distinct ones (greedy kriging-believer batches, see
:class:`Policy`). Policies are built from specs ``{"name": ..., "params": {...}}``:

==============  ============================================================
name            policy (params)
==============  ============================================================
``ei``          expected improvement (``maximize``)
``logei``       log expected improvement (``maximize``)
``pi``          probability of improvement (``maximize``)
``ucb``         upper confidence bound (``beta``, ``maximize``)
``exploit``     posterior mean (``maximize``)
``maxvar``      posterior standard deviation (pure exploration)
``thompson``    Thompson sampling (``max_joint``, ``maximize``)
``cost_aware``  a base policy minus travel/dwell costs (``base``,
                ``travel_weight``, ``dwell_weight``, ``normalize``)
==============  ============================================================

Examples
--------
>>> import numpy as np
>>> from autoscope import policies
>>> ucb = policies.get("ucb", beta=4.0)
>>> ctx = policies.DecisionContext(
...     mean=np.array([0.0, 1.0]), var=np.array([1.0, 0.0]), observed=np.array([0.5]),
...     available=np.array([True, True]), rng=np.random.default_rng(0))
>>> ucb.score(ctx).round(3).tolist()
[2.0, 1.0]
>>> policies.from_spec({"name": "cost_aware", "params": {"base": "ucb"}}).spec["params"]["base"]
{'name': 'ucb', 'params': {'beta': 4.0, 'maximize': True}}
"""

from __future__ import annotations

from autoscope.policies._base import DecisionContext, Policy, PosteriorLike
from autoscope.policies._registry import available, from_spec, get, register
from autoscope.policies.analytic import (
    ExpectedImprovement,
    LogExpectedImprovement,
    MaxVariance,
    PosteriorMean,
    ProbabilityOfImprovement,
    UpperConfidenceBound,
)
from autoscope.policies.cost import CostAware
from autoscope.policies.thompson import ThompsonSampling

__all__ = [
    "CostAware",
    "DecisionContext",
    "ExpectedImprovement",
    "LogExpectedImprovement",
    "MaxVariance",
    "Policy",
    "PosteriorLike",
    "PosteriorMean",
    "ProbabilityOfImprovement",
    "ThompsonSampling",
    "UpperConfidenceBound",
    "available",
    "from_spec",
    "get",
    "register",
]
