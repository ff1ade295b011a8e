"""The exact Gaussian-process head shared by every autoscope model, and its posterior.

Every model here is a feature map ``phi`` (learned CNN/MLP, PCA, VAE encoder,
scaled coordinates) followed by the same exact GP:
``f ~ GP(c, s^2 k(phi(x), phi(x')))``, ``y = f + eps``, ``eps ~ N(0, sigma^2)``.
The posterior over the candidates is computed from one cached Cholesky factor of
the training covariance, which also gives cross-covariances (batch selection) and
joint samples (Thompson sampling).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import gpytorch
import numpy as np
import torch
from botorch.models.gpytorch import GPyTorchModel
from gpytorch.constraints import GreaterThan
from gpytorch.distributions import MultivariateNormal
from gpytorch.kernels import MaternKernel, RBFKernel, ScaleKernel
from gpytorch.priors import LogNormalPrior

from autoscope.errors import ModelFittingError
from autoscope.models._training import torch_threads

__all__ = ["CandidatePosterior", "GPModule", "cholesky_jittered", "make_kernel"]

_KERNELS = ("matern", "rbf")


def make_kernel(
    kind: str,
    dim: int,
    *,
    ard: bool,
    nu: float = 2.5,
    lengthscale: float | None = None,
    active_dims: tuple[int, ...] | None = None,
    outputscale_prior: tuple[float, float] | None = None,
) -> ScaleKernel:
    """Return ``ScaleKernel(Matern(nu) or RBF)`` over ``dim`` input dimensions.

    Parameters
    ----------
    kind : {"matern", "rbf"}
    dim : int
        Input dimension (the embedding dimension).
    ard : bool
        One lengthscale per input dimension.
    nu : {0.5, 1.5, 2.5}
        Matern smoothness.
    lengthscale : float, optional
        Initial lengthscale (gpytorch's default 0.69 otherwise).
    active_dims : tuple of int, optional
        The ``dim`` input columns the kernel reads (all columns otherwise).
    outputscale_prior : (float, float), optional
        ``(loc, scale)`` of a log-normal prior on the outputscale.
    """
    n = dim if ard else None
    if kind == "matern":
        base = MaternKernel(nu=nu, ard_num_dims=n, active_dims=active_dims)
    else:
        base = RBFKernel(ard_num_dims=n, active_dims=active_dims)
    if lengthscale is not None:
        base.lengthscale = lengthscale
    prior = None if outputscale_prior is None else LogNormalPrior(*outputscale_prior)
    return ScaleKernel(base, outputscale_prior=prior)


class GPModule(gpytorch.models.ExactGP, GPyTorchModel):
    """``gpytorch`` exact GP with a feature map in front of the kernel.

    Inputs are flat ``(..., D)`` tensors; ``feature_map`` turns them into ``(..., d)``
    embeddings. With the :class:`botorch.models.gpytorch.GPyTorchModel` mixin and
    ``_num_outputs = 1`` BoTorch's analytic acquisition functions accept it directly
    (targets are in standardised units there).
    """

    _num_outputs = 1

    def __init__(
        self,
        train_x: torch.Tensor,
        train_y: torch.Tensor,
        feature_map: torch.nn.Module,
        covar_module: ScaleKernel,
        noise_floor: float,
        noise_prior: tuple[float, float] | None = None,
    ):
        prior = None if noise_prior is None else LogNormalPrior(*noise_prior)
        likelihood = gpytorch.likelihoods.GaussianLikelihood(
            noise_prior=prior, noise_constraint=GreaterThan(noise_floor)
        )
        super().__init__(train_x, train_y, likelihood)
        self.feature_map = feature_map
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = covar_module

    def forward(self, x: torch.Tensor) -> MultivariateNormal:
        """Return the prior ``N(c, s^2 K(phi(x), phi(x)))`` at inputs ``x`` (..., D)."""
        z = self.feature_map(x)
        return MultivariateNormal(self.mean_module(z), self.covar_module(z))

    def hyper_parameters(self) -> list[torch.nn.Parameter]:
        """Return the GP's own parameters (mean, kernel, likelihood), not the feature map's."""
        fm = {id(p) for p in self.feature_map.parameters()}
        return [p for p in self.parameters() if id(p) not in fm]


def cholesky_jittered(
    k: torch.Tensor, *, start: float = 1e-6, tries: int = 6, plain: bool = True
) -> torch.Tensor:
    """Return the lower Cholesky factor of ``k``, adding escalating diagonal jitter.

    Jitter ``start * 10**i * mean(diag(k))`` for ``i = 0 .. tries - 1`` after a
    plain attempt (skipped if not ``plain``).

    Raises
    ------
    ModelFittingError
        If ``k`` is not positive definite even with the largest jitter.
    """
    if plain:
        chol, info = torch.linalg.cholesky_ex(k)
        if int(info) == 0 and torch.isfinite(chol).all():
            return chol
    scale = float(k.diagonal().abs().mean()) or 1.0
    eye = torch.eye(k.shape[-1], dtype=k.dtype, device=k.device)
    for i in range(tries):
        chol, info = torch.linalg.cholesky_ex(k + start * 10.0**i * scale * eye)
        if int(info) == 0 and torch.isfinite(chol).all():
            return chol
    raise ModelFittingError(f"covariance of size {k.shape[-1]} is not positive definite")


@dataclass
class CandidatePosterior:
    r"""The GP posterior over a fixed candidate set, in the units of the observations.

    ``mean = c + K_{*x} alpha``, ``var = s^2 - diag(V^T V)`` with ``V = L^{-1} K_{x*}``,
    ``L L^T = K_{xx} + sigma^2 I`` (standardised units), rescaled by the target
    standard deviation ``sy`` (``mean * sy + my``, ``var * sy^2``).

    Attributes
    ----------
    mean : ndarray, shape (N,)
        Posterior mean of the latent function.
    var : ndarray, shape (N,)
        Posterior variance of the latent function (no observation noise).
    noise : float
        Observation-noise variance ``sigma^2`` (same units as ``var``).
    """

    mean: np.ndarray
    var: np.ndarray
    noise: float
    _z: torch.Tensor | None = None
    _v: torch.Tensor | None = None
    _kernel: ScaleKernel | None = None
    _scale: float = 1.0
    _threads: int | None = None

    def _parts(self) -> tuple[torch.Tensor, torch.Tensor, ScaleKernel]:
        if self._z is None or self._v is None or self._kernel is None:
            raise ModelFittingError("this posterior carries no cross-covariances (mean/var only)")
        return self._z, self._v, self._kernel

    def cross_cov(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        """Posterior covariance between every candidate and candidates ``idx``.

        Returns
        -------
        ndarray, shape (N, len(idx))
        """
        z, v, kernel = self._parts()
        idx_t = torch.as_tensor(np.asarray(idx, dtype=np.int64), device=z.device)
        with torch_threads(self._threads), torch.no_grad():
            prior = kernel(z, z[idx_t]).to_dense()
            post = prior - v.T @ v[:, idx_t]
        return post.double().cpu().numpy() * self._scale**2

    def widened(self, factor: float) -> CandidatePosterior:
        """Return the posterior with every variance (latent, noise, joint) scaled by ``factor``."""
        return dataclasses.replace(
            self,
            var=self.var * factor,
            noise=self.noise * factor,
            _scale=self._scale * math.sqrt(factor),
        )

    def joint_sample(
        self, idx: Sequence[int] | np.ndarray, rng: np.random.Generator, n_samples: int = 1
    ) -> np.ndarray:
        """Draw joint samples of the latent function at candidates ``idx``.

        Returns
        -------
        ndarray, shape (n_samples, len(idx))
        """
        z, v, kernel = self._parts()
        idx_t = torch.as_tensor(np.asarray(idx, dtype=np.int64), device=z.device)
        with torch_threads(self._threads), torch.no_grad():
            zs = z[idx_t]
            vs = v[:, idx_t].double()
            cov = kernel(zs).to_dense().double() - vs.T @ vs
            root = _psd_root(cov.cpu()).numpy()
        eps = rng.standard_normal((len(idx_t), n_samples))
        draws = (root @ eps).T * self._scale
        return self.mean[np.asarray(idx, dtype=np.int64)][None, :] + draws


def _psd_root(cov: torch.Tensor) -> torch.Tensor:
    """Return ``R`` with ``R R^T ~= cov`` for a posterior covariance (float64).

    A posterior covariance is near-singular by construction, so the Cholesky factor
    gets jitter from the start. Where float32 round-off of ``prior - V^T V`` has made
    it indefinite beyond any small jitter (many candidates, a confident model), the
    eigen-decomposition with negative eigenvalues set to zero is used: the nearest
    positive semi-definite matrix in Frobenius norm (Higham 1988).
    """
    try:
        return cholesky_jittered(cov, start=1e-7, plain=False)
    except ModelFittingError:
        w, vecs = torch.linalg.eigh(cov)
        return vecs * w.clamp(min=0.0).sqrt()
