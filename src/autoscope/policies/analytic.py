r"""Analytic acquisition policies, computed with BoTorch's own acquisition functions.

The candidate set is finite and the posterior over it is already known, so each
policy wraps it in a tiny BoTorch model whose ``posterior(X)`` looks up the mean
and variance of candidate ``X[..., 0]`` and evaluates BoTorch's analytic class
on all candidates at once (the same numbers BoTorch would give on the GP itself).
With ``mu``, ``sigma`` the posterior mean and standard deviation,
``f*`` the best observed value, ``z = (mu - f*) / sigma`` (maximisation):

* ``ei``      : :math:`\sigma\,[z\Phi(z) + \varphi(z)]`, evaluated as ``exp`` of
  ``LogExpectedImprovement`` (BoTorch's legacy ``ExpectedImprovement`` underflows
  to exactly 0 a few sigma below the incumbent, which turns the argmax into a tie)
* ``logei``   : :math:`\log` of the same (``LogExpectedImprovement``)
* ``pi``      : :math:`\Phi(z)`, as ``exp`` of ``LogProbabilityOfImprovement``
* ``ucb``     : :math:`\mu + \sqrt{\beta}\,\sigma` (``UpperConfidenceBound``)
* ``exploit`` : :math:`\mu` (``PosteriorMean``)
* ``maxvar``  : :math:`\sigma` (``PosteriorStandardDeviation``), pure exploration

``maximize=False`` searches for the minimum instead (``z`` and ``mu`` change sign).

References
----------
D. R. Jones, M. Schonlau, W. J. Welch, "Efficient global optimization of expensive
black-box functions", J. Global Optim. 13, 455 (1998).
N. Srinivas et al., "Gaussian process optimization in the bandit setting", ICML 2010.
S. Ament et al., "Unexpected improvements to expected improvement for Bayesian
optimization", NeurIPS 2023.
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.acquisition import analytic
from botorch.models.model import Model
from botorch.posteriors.torch import TorchPosterior
from torch.distributions import Normal

from autoscope.errors import InputDataError
from autoscope.policies._base import DecisionContext, Policy
from autoscope.policies._registry import register

__all__ = [
    "ExpectedImprovement",
    "LogExpectedImprovement",
    "MaxVariance",
    "PosteriorMean",
    "ProbabilityOfImprovement",
    "UpperConfidenceBound",
    "LookupModel",
]


class LookupModel(Model):
    """A BoTorch model over a finite candidate set with a known Gaussian posterior.

    ``posterior(X)`` for ``X`` of shape ``(b, q, 1)`` holding candidate indices
    returns independent normals with the stored means and variances.
    """

    def __init__(self, mean: np.ndarray, var: np.ndarray):
        super().__init__()
        self._mean = torch.as_tensor(np.asarray(mean, dtype=np.float64))
        self._std = torch.as_tensor(np.sqrt(np.clip(np.asarray(var, dtype=np.float64), 0, None)))

    @property
    def num_outputs(self) -> int:
        """One output."""
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        """No model batch."""
        return torch.Size([])

    def posterior(self, X, output_indices=None, observation_noise=False, posterior_transform=None):
        """Return the posterior at candidate indices ``X[..., 0]`` (shape (b, q, 1))."""
        idx = X[..., 0].round().long()
        normal = Normal(self._mean[idx][..., None], self._std[idx][..., None], validate_args=False)
        post = TorchPosterior(normal)
        return post if posterior_transform is None else posterior_transform(post)


def evaluate(acqf_cls, ctx: DecisionContext, **kwargs) -> tuple[np.ndarray, float, float]:
    """Evaluate BoTorch analytic acquisition ``acqf_cls`` on every candidate.

    The posterior (and ``best_f``) is first standardised by ``loc`` and ``scale``
    (mean and spread of the predictions), so that tiny or huge units do not meet
    BoTorch's variance floor; callers map the values back.

    Returns
    -------
    values : ndarray, shape (N,)
        In standardised units.
    loc, scale : float
    """
    mean = np.asarray(ctx.mean, dtype=np.float64)
    var = np.asarray(ctx.var, dtype=np.float64)
    loc = float(mean.mean())
    scale = float(np.sqrt(mean.var() + np.clip(var, 0, None).mean()))
    scale = scale if scale > 0 and np.isfinite(scale) else 1.0
    if "best_f" in kwargs:
        kwargs["best_f"] = (kwargs["best_f"] - loc) / scale
    model = LookupModel((mean - loc) / scale, var / scale**2)
    acqf = acqf_cls(model, **kwargs)
    x = torch.arange(len(mean), dtype=torch.float64).reshape(-1, 1, 1)
    with torch.no_grad():
        return acqf(x).double().numpy(), loc, scale


class _Improvement(Policy):
    _acqf: type

    def __init__(self, maximize: bool = True):
        if not isinstance(maximize, bool):
            raise InputDataError(f"policy {self.name!r}: maximize must be a bool, got {maximize!r}")
        super().__init__(maximize=maximize)

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return the acquisition value per candidate (N,) (see the module docstring)."""
        maximize = self.params["maximize"]
        best = ctx.best(maximize)
        if not np.isfinite(best):  # nothing observed: improvement over the worst prediction
            best = float(ctx.mean.min() if maximize else ctx.mean.max())
        values, _, scale = evaluate(self._acqf, ctx, best_f=best, maximize=maximize)
        return self._unscale(values, scale)

    @staticmethod
    def _unscale(values: np.ndarray, scale: float) -> np.ndarray:
        return values * scale


class ExpectedImprovement(_Improvement):
    r"""Expected improvement :math:`\sigma[z\Phi(z) + \varphi(z)]`, ``z = (mu - f*)/sigma``.

    Computed as :math:`\exp(\mathrm{LogEI})` with BoTorch's ``LogExpectedImprovement``.

    Parameters
    ----------
    maximize : bool
        Look for the maximum (default) or the minimum.
    """

    name = "ei"
    _acqf = analytic.LogExpectedImprovement

    @staticmethod
    def _unscale(values: np.ndarray, scale: float) -> np.ndarray:
        return np.exp(values) * scale


class LogExpectedImprovement(_Improvement):
    r"""Logarithm of expected improvement (BoTorch's numerically robust LogEI).

    Parameters
    ----------
    maximize : bool
    """

    name = "logei"
    _acqf = analytic.LogExpectedImprovement

    @staticmethod
    def _unscale(values: np.ndarray, scale: float) -> np.ndarray:
        return values + np.log(scale)


class ProbabilityOfImprovement(_Improvement):
    r"""Probability of improvement :math:`\Phi((\mu - f^*)/\sigma)`.

    Computed as :math:`\exp` of BoTorch's ``LogProbabilityOfImprovement``.

    Parameters
    ----------
    maximize : bool
    """

    name = "pi"
    _acqf = analytic.LogProbabilityOfImprovement

    @staticmethod
    def _unscale(values: np.ndarray, scale: float) -> np.ndarray:
        return np.exp(values)


class UpperConfidenceBound(Policy):
    r"""Upper confidence bound :math:`\mu + \sqrt{\beta}\,\sigma`.

    Parameters
    ----------
    beta : float
        Exploration weight (>= 0; BoTorch's convention, the square root multiplies sigma).
    maximize : bool
    """

    name = "ucb"

    def __init__(self, beta: float = 4.0, maximize: bool = True):
        if isinstance(beta, bool) or not isinstance(beta, int | float) or not beta >= 0:
            raise InputDataError(f"policy 'ucb': beta must be a number >= 0, got {beta!r}")
        if not isinstance(maximize, bool):
            raise InputDataError(f"policy 'ucb': maximize must be a bool, got {maximize!r}")
        super().__init__(beta=float(beta), maximize=maximize)

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return the (signed) mean plus ``sqrt(beta)`` standard deviations, (N,)."""
        maximize = self.params["maximize"]
        values, loc, scale = evaluate(
            analytic.UpperConfidenceBound, ctx, beta=self.params["beta"], maximize=maximize
        )
        return values * scale + (loc if maximize else -loc)


class PosteriorMean(Policy):
    r"""Pure exploitation: the posterior mean :math:`\mu` (or :math:`-\mu` to minimise).

    Parameters
    ----------
    maximize : bool
    """

    name = "exploit"

    def __init__(self, maximize: bool = True):
        if not isinstance(maximize, bool):
            raise InputDataError(f"policy 'exploit': maximize must be a bool, got {maximize!r}")
        super().__init__(maximize=maximize)

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return the (signed) posterior mean per candidate (N,)."""
        maximize = self.params["maximize"]
        values, loc, scale = evaluate(analytic.PosteriorMean, ctx, maximize=maximize)
        return values * scale + (loc if maximize else -loc)


class MaxVariance(Policy):
    r"""Pure exploration: the posterior standard deviation :math:`\sigma`."""

    name = "maxvar"

    def __init__(self):
        super().__init__()

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return the posterior standard deviation per candidate (N,)."""
        values, _, scale = evaluate(analytic.PosteriorStandardDeviation, ctx)
        return values * scale


register(ExpectedImprovement.name, ExpectedImprovement)
register(LogExpectedImprovement.name, LogExpectedImprovement)
register(ProbabilityOfImprovement.name, ProbabilityOfImprovement)
register(UpperConfidenceBound.name, UpperConfidenceBound)
register(PosteriorMean.name, PosteriorMean)
register(MaxVariance.name, MaxVariance)
