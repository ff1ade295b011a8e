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

from typing import Any

from autoscope._specs import split_spec
from autoscope.errors import InputDataError
from autoscope.policies._base import DecisionContext, Policy, PosteriorLike, bind_params
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

_REGISTRY: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        ExpectedImprovement,
        LogExpectedImprovement,
        ProbabilityOfImprovement,
        UpperConfidenceBound,
        PosteriorMean,
        MaxVariance,
        ThompsonSampling,
        CostAware,
    )
}


def available() -> list[str]:
    """Return the sorted names of the registered policies."""
    return sorted(_REGISTRY)


def register(name: str, cls: type[Policy], *, overwrite: bool = False) -> None:
    """Register a :class:`Policy` subclass under ``name`` (its ``name`` attribute is set).

    Raises
    ------
    ValueError
        ``name`` taken (without ``overwrite``) or ``cls`` not a Policy subclass.
    """
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise InputDataError(f"policy {name!r}: expected a Policy subclass, got {cls!r}")
    if name in _REGISTRY and not overwrite:
        raise InputDataError(f"policy {name!r} is already registered (pass overwrite=True)")
    cls.name = name
    _REGISTRY[name] = cls


def get(name: str, **params: Any) -> Policy:
    """Return policy ``name`` built with ``params``.

    Raises
    ------
    ValueError
        Unknown name, unknown parameter or bad value.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise InputDataError(f"unknown policy {name!r}; available: {', '.join(available())}")
    cls = _REGISTRY[name]
    bind_params(cls, params)
    return cls(**params)


def from_spec(spec: Any) -> Policy:
    """Build a policy from a name, a ``{"name", "params"}`` dict, or return a policy as is.

    Raises
    ------
    ValueError
        Malformed spec, unknown name or bad parameters.
    """
    if isinstance(spec, Policy):
        return spec
    name, params = split_spec(spec, "policy")
    return get(name, **params)
