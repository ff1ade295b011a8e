r"""Thompson sampling over the candidate set.

Draw one function from the joint posterior, :math:`\tilde f \sim p(f \mid \mathcal D)`,
and measure where it is largest. The joint posterior is sampled over a random
subset of at most ``max_joint`` available candidates (all of them when there are
fewer): Cholesky factor of the subset's posterior covariance, so the cost is
``O(max_joint^3)``. Candidates outside the subset get no score (NaN). Without a
model posterior that supports joint samples, independent marginal draws
:math:`\mu_i + \sigma_i \epsilon_i` are used instead. A batch of ``q`` is ``q``
independent draws, each taking its best not-yet-chosen candidate.

References
----------
W. R. Thompson, Biometrika 25, 285 (1933); D. Russo et al., "A tutorial on
Thompson sampling", Found. Trends Mach. Learn. 11, 1 (2018).
"""

from __future__ import annotations

import numpy as np

from autoscope.errors import InputDataError
from autoscope.policies._base import DecisionContext, Policy
from autoscope.policies._registry import register

__all__ = ["ThompsonSampling"]


class ThompsonSampling(Policy):
    r"""Thompson sampling: :math:`\arg\max_i \tilde f_i`, :math:`\tilde f \sim p(f \mid D)`.

    Parameters
    ----------
    max_joint : int
        Largest number of candidates sampled jointly (>= 1).
    maximize : bool
        Look for the maximum (default) or the minimum.
    """

    name = "thompson"

    def __init__(self, max_joint: int = 1000, maximize: bool = True):
        if isinstance(max_joint, bool) or not isinstance(max_joint, int) or max_joint < 1:
            raise InputDataError(
                f"policy 'thompson': max_joint must be an int >= 1, got {max_joint!r}"
            )
        if not isinstance(maximize, bool):
            raise InputDataError(f"policy 'thompson': maximize must be a bool, got {maximize!r}")
        super().__init__(max_joint=max_joint, maximize=maximize)

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return one posterior draw on a random subset of the available candidates.

        NaN outside the subset.
        """
        n = len(ctx.mean)
        avail = np.flatnonzero(np.asarray(ctx.available, dtype=bool))
        out = np.full(n, np.nan)
        if avail.size == 0:
            return out
        k = self.params["max_joint"]
        subset = np.sort(ctx.rng.choice(avail, size=k, replace=False)) if avail.size > k else avail
        if ctx.posterior is not None:
            draw = ctx.posterior.joint_sample(subset, ctx.rng, 1)[0]
        else:
            sd = np.sqrt(np.clip(ctx.var[subset], 0.0, None))
            draw = ctx.mean[subset] + sd * ctx.rng.standard_normal(subset.size)
        out[subset] = draw if self.params["maximize"] else -draw
        return out

    def choose(self, ctx: DecisionContext, q: int = 1) -> tuple[list[int], list[float]]:
        """Return ``q`` distinct candidates, one independent posterior draw each, and the draws."""
        avail = np.asarray(ctx.available, dtype=bool).copy()
        chosen: list[int] = []
        values: list[float] = []
        for _ in range(q):
            if not avail.any():
                break
            s = self.score(ctx.replace(available=avail.copy()))
            s = np.where(avail & ~np.isnan(s), s, -np.inf)
            j = int(np.argmax(s))
            chosen.append(j)
            values.append(float(s[j]))
            avail[j] = False
        return chosen, values


register(ThompsonSampling.name, ThompsonSampling)
