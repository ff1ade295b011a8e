r"""Policy layers a person adds while steering: a core policy, costs, and boosted regions.

The policy of a steered run is a stack of at most three layers, outermost first::

    boosted(base=cost_aware(base=<core>, travel_weight, dwell_weight), ids, weight)

``core`` is any registered policy (EI, UCB, max-variance, ...); ``cost_aware`` is
:class:`autoscope.policies.CostAware`; ``boosted`` is :class:`Boosted` (knowledge
injection: "these structures are interesting"). Changing one layer keeps the
others, so "switch to UCB" after "mind the travel" is still cost-aware.

.. math:: a_{\mathrm{boost}}(i) = \hat a(i) + w\, \mathbb{1}[i \in B]

with :math:`\hat a` the base score rescaled to ``[0, 1]`` over the available
candidates, :math:`B` the boosted candidate ids and :math:`w \ge 0` the boost
weight (``w >= 1``: every available boosted candidate goes before any other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autoscope import policies
from autoscope.errors import InputDataError
from autoscope.policies import DecisionContext, Policy

__all__ = ["Boosted", "compose_policy", "policy_layers"]


class Boosted(Policy):
    r"""Wrap a policy and add a bonus to boosted candidates (see the module docstring).

    Parameters
    ----------
    base : str or dict
        The wrapped policy (name or ``{"name", "params"}`` spec).
    ids : list of int
        Boosted candidate ids :math:`B`.
    weight : float
        Bonus :math:`w \ge 0` in units of the normalised base score.
    """

    name = "boosted"

    def __init__(
        self, base: str | Mapping[str, Any] = "ei", ids: Sequence[int] = (), weight: float = 1.0
    ):
        inner = policies.from_spec(base)
        if isinstance(inner, Boosted):
            raise InputDataError("policy 'boosted' cannot wrap another 'boosted'")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
            raise InputDataError(f"policy 'boosted': weight must be a number >= 0, got {weight!r}")
        arr = np.asarray(list(ids))
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0):
            raise InputDataError(f"policy 'boosted': ids must be ints >= 0, got {ids!r:.80}")
        self.base = inner
        self.requires = inner.requires  # type: ignore[misc]
        super().__init__(base=inner.spec, ids=sorted({int(i) for i in arr}), weight=float(weight))

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return the normalised base score plus the boost, shape (N,)."""
        s = np.asarray(self.base.score(ctx), dtype=float)
        ok = np.asarray(ctx.available, dtype=bool) & np.isfinite(s)
        if ok.any():
            lo, hi = s[ok].min(), s[ok].max()
            s = (s - lo) / (hi - lo) if hi > lo else np.where(np.isnan(s), np.nan, 0.0)
        ids = [i for i in self.params["ids"] if i < len(s)]
        s[ids] = s[ids] + self.params["weight"]
        return s


if "boosted" not in policies.available():
    policies.register("boosted", Boosted)


def policy_layers(spec: Any) -> tuple[dict, dict | None, dict | None]:
    """Split a policy into ``(core, cost, boost)`` specs.

    Parameters
    ----------
    spec : str, dict or Policy

    Returns
    -------
    core : dict
        The innermost policy spec.
    cost : dict or None
        ``cost_aware`` params without ``base`` (``None``: no cost layer).
    boost : dict or None
        ``boosted`` params without ``base`` (``None``: no boost layer).
    """
    cur = dict(policies.from_spec(spec).spec)
    cost = boost = None
    while cur["name"] in ("cost_aware", "boosted"):
        params = dict(cur["params"])
        base = params.pop("base")
        if cur["name"] == "cost_aware":
            cost = params
        else:
            boost = params
        cur = dict(policies.from_spec(base).spec)
    return cur, cost, boost


def compose_policy(core: Any, cost: Mapping | None = None, boost: Mapping | None = None) -> dict:
    """Stack the layers back into one spec (see the module docstring); validated.

    A cost layer with both weights 0 and a boost layer with no ids are dropped.
    """
    spec = dict(policies.from_spec(core).spec)
    if cost is not None and (cost.get("travel_weight") or cost.get("dwell_weight")):
        spec = {"name": "cost_aware", "params": {"base": spec, **dict(cost)}}
    if boost is not None and boost.get("ids"):
        spec = {"name": "boosted", "params": {"base": spec, **dict(boost)}}
    return dict(policies.from_spec(spec).spec)
