r"""Cost-aware acquisition: any policy, penalised by probe travel and dwell.

.. math:: a_{\mathrm{cost}}(i) = \hat a(i)
          - w_{\mathrm{travel}}\,\lVert c_i - c_{\mathrm{last}}\rVert_2
          - w_{\mathrm{dwell}}\, t_i

with :math:`\hat a` the base policy's score, rescaled to ``[0, 1]`` over the available
candidates when ``normalize`` (so the weights read "fraction of the acquisition
range per pixel / per second"), :math:`c_i` the candidate position and
:math:`c_{\mathrm{last}}` the probe position (the last measured point; in a batch,
the previous pick), both in pixels, and :math:`t_i` the dwell time (s) the
candidate needs (1 unless the recommender is given a dwell map). This is the seed
lecture's "cost and latencies via acquisition functions".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.policies._base import DecisionContext, Policy
from autoscope.policies._registry import from_spec, register

__all__ = ["CostAware"]


def _weight(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InputDataError(f"policy 'cost_aware': {name} must be a number >= 0, got {value!r}")
    return float(value)


class CostAware(Policy):
    r"""Wrap a policy and subtract travel and dwell costs from its score.

    Parameters
    ----------
    base : str or dict
        The wrapped policy, as a name or a ``{"name", "params"}`` spec (default ``"ei"``).
    travel_weight : float
        Penalty per pixel of probe travel from the last measured point (>= 0).
    dwell_weight : float
        Penalty per second of dwell at the candidate (>= 0).
    normalize : bool
        Rescale the base score to ``[0, 1]`` over the available candidates first.
    """

    name = "cost_aware"
    requires = frozenset({"coords"})

    def __init__(
        self,
        base: str | Mapping[str, Any] = "ei",
        travel_weight: float = 0.0,
        dwell_weight: float = 0.0,
        normalize: bool = True,
    ):
        inner = from_spec(base)
        if isinstance(inner, CostAware):
            raise InputDataError("policy 'cost_aware' cannot wrap another 'cost_aware'")
        if not isinstance(normalize, bool):
            raise InputDataError(
                f"policy 'cost_aware': normalize must be a bool, got {normalize!r}"
            )
        self.base = inner
        super().__init__(
            base=inner.spec,
            travel_weight=_weight("travel_weight", travel_weight),
            dwell_weight=_weight("dwell_weight", dwell_weight),
            normalize=normalize,
        )

    def cost(self, ctx: DecisionContext) -> np.ndarray:
        """Return the penalty per candidate, shape (N,) (0 where nothing applies)."""
        n = len(ctx.mean)
        cost = np.zeros(n)
        wt, wd = self.params["travel_weight"], self.params["dwell_weight"]
        if wt > 0 and ctx.last is not None:
            if ctx.coords is None:
                raise InputDataError("policy 'cost_aware' needs candidate coordinates for travel")
            d = np.asarray(ctx.coords, dtype=float) - np.asarray(ctx.last, dtype=float)
            cost += wt * np.hypot(d[:, 0], d[:, 1])
        if wd > 0:
            dwell = np.ones(n) if ctx.dwell is None else np.asarray(ctx.dwell, dtype=float)
            cost += wd * dwell
        return cost

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return the (normalised) base score minus :meth:`cost`, shape (N,)."""
        s = np.asarray(self.base.score(ctx), dtype=float)
        if self.params["normalize"]:
            ok = np.asarray(ctx.available, dtype=bool) & np.isfinite(s)
            if ok.any():
                lo, hi = s[ok].min(), s[ok].max()
                s = (s - lo) / (hi - lo) if hi > lo else np.where(np.isnan(s), np.nan, 0.0)
        return s - self.cost(ctx)


register(CostAware.name, CostAware)
