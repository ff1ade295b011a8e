r"""The fast update path: condition a fitted GP on new observations without retraining.

Between full retrains the feature map, the kernel hyperparameters and the target
standardisation stay fixed, and the exact GP is conditioned on the new points by
extending the Cholesky factor of the training covariance by a block (a rank-one
update for one point):

.. math:: L' = \begin{pmatrix} L & 0 \\ B^\top & L_{22} \end{pmatrix},\quad
          B = L^{-1} K_{x,\mathrm{new}},\quad
          L_{22} L_{22}^\top = K_{\mathrm{new},\mathrm{new}} + \sigma^2 I - B^\top B,

with whitened targets :math:`w' = (w, L_{22}^{-1}(y_\mathrm{new} - c - B^\top w))`,
:math:`w = L^{-1}(y - c)`. Over the candidate set, the cached embeddings
:math:`Z_*` and :math:`V = L^{-1} K_{x*}` grow by the rows
:math:`V_\mathrm{new} = L_{22}^{-1}(K_{\mathrm{new}*} - B^\top V)`, and the posterior
:math:`\mu_* = c + V^\top w`, :math:`\sigma^2_* = \mathrm{diag}\,K_{**} - \mathrm{diag}\,V^\top V`
is updated in :math:`O(m N)` for ``m`` new points and ``N`` candidates: no network
is evaluated. The result equals the exact GP on all the data with the same
hyperparameters (tested in ``tests/models/test_fast_update.py``).

:class:`RefitSchedule` says when a full retrain is due instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from linear_operator.utils.errors import NanError, NotPSDError

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.models._gp import CandidatePosterior, GPModule, cholesky_jittered
from autoscope.models._training import NonFiniteLoss

__all__ = [
    "FIT_ERRORS",
    "CandidateCache",
    "RefitSchedule",
    "condition",
    "extend_factor",
    "posterior_cache",
    "standardisation",
    "train_trigger",
]

#: what a failed fit or conditioning raises
FIT_ERRORS = (NotPSDError, NanError, NonFiniteLoss, ModelFittingError, torch.linalg.LinAlgError)

#: candidates per chunk when the feature map and the kernel are evaluated
CHUNK = 4096
#: candidates per chunk when conditioning (an ``m x chunk`` kernel block: a few MB)
EXTEND_CHUNK = 1 << 16


@dataclass(frozen=True)
class RefitSchedule:
    r"""When a full retrain replaces the cheap conditioning.

    Parameters
    ----------
    every : int
        Retrain at every ``every``-th fit since the last retrain (1: at every fit,
        i.e. no fast path).
    surprise : float or None
        Retrain when a new observation's standardised forecast error
        :math:`|y - \mu| / \sqrt{\sigma^2_f + \sigma^2}` under the current model exceeds it.
    growth : float
        Retrain when the training set has grown by this factor since the last retrain
        (the early, few-point phase retrains often).
    """

    every: int = 1
    surprise: float | None = None
    growth: float = 1.5

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise InputDataError(f"refit_every must be an int >= 1, got {self.every!r}")
        if self.surprise is not None and not (
            isinstance(self.surprise, int | float) and self.surprise > 0
        ):
            raise InputDataError(f"refit_surprise must be > 0 or None, got {self.surprise!r}")
        if not (isinstance(self.growth, int | float) and self.growth > 1.0):
            raise InputDataError(f"refit_growth must be > 1, got {self.growth!r}")

    @property
    def fast(self) -> bool:
        """Whether the schedule ever conditions instead of retraining."""
        return self.every > 1

    def due(self, since: int, n_trained: int, n_now: int) -> str | None:
        """Return why a retrain is due before conditioning, or ``None``.

        ``since``: fits since the last retrain; ``n_trained``: points at the last
        retrain; ``n_now``: points now.
        """
        if since + 1 >= self.every:
            return "schedule"
        if n_now >= self.growth * n_trained:
            return "growth"
        return None

    def surprised(self, z: torch.Tensor) -> bool:
        """Whether standardised forecast errors ``z`` call for a retrain."""
        return self.surprise is not None and bool((z.abs() > self.surprise).any())


def standardisation(y: np.ndarray) -> tuple[float, float]:
    """Return the ``(loc, scale)`` that standardise targets ``y`` (scale 1 when flat or single)."""
    loc = float(y.mean())
    scale = float(y.std()) if y.size > 1 else 1.0
    return loc, scale if scale > 1e-12 else 1.0


def extend_factor(
    cache: dict[str, torch.Tensor], z_new: torch.Tensor, y_new: torch.Tensor, kernel: Any
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Condition the training cache on ``m`` new points (float64 throughout).

    Parameters
    ----------
    cache : dict
        ``z`` (n, d) embeddings, ``L`` (n, n) float64 Cholesky factor of
        ``K + sigma^2 I``, ``w`` (n,) float64 whitened targets, ``const``, ``noise``.
    z_new : Tensor, shape (m, d)
        Embeddings of the new points.
    y_new : Tensor, shape (m,)
        Their standardised targets.
    kernel
        The model's covariance module.

    Returns
    -------
    cache : dict
        The extended cache (``alpha`` recomputed).
    w_new : Tensor, shape (m,)
        The new whitened targets: the standardised one-step-ahead forecast errors
        of the new points under the old posterior (for one point,
        :math:`(y - \mu) / \sqrt{\sigma^2_f + \sigma^2}`).
    b : Tensor, shape (n, m)
        ``L^{-1} K_{x,new}``.
    l22 : Tensor, shape (m, m)
        The new diagonal block of the factor.
    """
    with torch.no_grad():
        L, w = cache["L"], cache["w"]
        z = cache["z"]
        k12 = kernel(z, z_new).to_dense().double()
        k22 = kernel(z_new).to_dense().double()
        noise = cache["noise"].double()
        k22 = k22 + noise * torch.eye(k22.shape[0], dtype=k22.dtype, device=k22.device)
        b = torch.linalg.solve_triangular(L, k12, upper=False)
        l22 = cholesky_jittered(k22 - b.T @ b)
        resid = y_new.double() - cache["const"].double() - b.T @ w
        w_new = torch.linalg.solve_triangular(l22, resid.unsqueeze(-1), upper=False).squeeze(-1)
        n, m = L.shape[0], l22.shape[0]
        big = torch.zeros(n + m, n + m, dtype=L.dtype, device=L.device)
        big[:n, :n], big[n:, :n], big[n:, n:] = L, b.T, l22
        w_all = torch.cat([w, w_new])
        alpha = torch.linalg.solve_triangular(big.T, w_all.unsqueeze(-1), upper=True).squeeze(-1)
    out = dict(cache)
    out.update({"z": torch.cat([z, z_new]), "L": big, "w": w_all, "alpha": alpha})
    return out, w_new, b, l22


class CandidateCache:
    r"""The posterior over one fixed candidate array, kept and updated between retrains.

    Holds the candidates' embeddings :math:`Z_*` (evaluated once per feature map),
    :math:`V = L^{-1} K_{x*}` and the standardised posterior mean and variance; a
    retrain invalidates it, conditioning extends it. The cache is keyed on the
    array object the recommender passes (``x is cache.x``), which it never mutates.
    """

    def __init__(self, x: Any, version: int, z: torch.Tensor, v: torch.Tensor,
                 mean: torch.Tensor, var: torch.Tensor):  # fmt: skip
        self.x, self.version = x, version
        self.z, self.v = z, v
        self.mean = mean  # standardised, float64
        self.var = var  # standardised, float64, latent

    def matches(self, x: Any, version: int) -> bool:
        """Return whether this cache holds the posterior over ``x`` for ``version``."""
        return self.x is x and self.version == version

    @classmethod
    def build(cls, x: Any, version: int, feature_map: Any, kernel: Any, xt: torch.Tensor,
              cache: dict, chunk: int = CHUNK) -> CandidateCache:  # fmt: skip
        """Evaluate embeddings, ``V``, mean and variance over all candidates, in chunks."""
        L = cache["L"].to(xt.dtype)
        alpha = cache["alpha"].to(xt.dtype)
        zs, vs, means, vars_ = [], [], [], []
        with torch.no_grad():
            for start in range(0, xt.shape[0], chunk):
                z = feature_map(xt[start : start + chunk])
                ks = kernel(z, cache["z"]).to_dense()
                v = torch.linalg.solve_triangular(L, ks.T, upper=False)
                means.append((ks @ alpha).double())
                vars_.append((kernel(z, z, diag=True) - (v * v).sum(0)).double())
                zs.append(z)
                vs.append(v)
            mean = torch.cat(means) + cache["const"].detach().double()
        return cls(x, version, torch.cat(zs), torch.cat(vs, dim=1), mean, torch.cat(vars_))

    def extend(self, kernel: Any, z_new: torch.Tensor, b: torch.Tensor, l22: torch.Tensor,
               w_new: torch.Tensor) -> None:  # fmt: skip
        """Add the rows of ``m`` conditioned points to ``V`` and update mean and variance."""
        with torch.no_grad():
            rows = []
            for start in range(0, self.z.shape[0], EXTEND_CHUNK):
                stop = start + EXTEND_CHUNK
                k = kernel(z_new, self.z[start:stop]).to_dense().double()
                k = k - b.T @ self.v[:, start:stop].double()
                rows.append(torch.linalg.solve_triangular(l22, k, upper=False))
            v_new = torch.cat(rows, dim=1)
            self.mean = self.mean + v_new.T @ w_new
            self.var = self.var - (v_new * v_new).sum(0)
            self.v = torch.cat([self.v, v_new.to(self.v.dtype)])

    def posterior(self, kernel: Any, noise: float, loc: float, scale: float,
                  threads: int | None) -> CandidatePosterior:  # fmt: skip
        """Return the cached posterior in observation units."""
        mean = self.mean.cpu().numpy() * scale + loc
        var = np.clip(self.var.cpu().numpy(), 1e-12, None) * scale**2
        return CandidatePosterior(
            mean=mean,
            var=var,
            noise=noise * scale**2,
            _z=self.z,
            _v=self.v,
            _kernel=kernel,
            _scale=scale,
            _threads=threads,
        )


def train_trigger(model: Any, x: np.ndarray, y: np.ndarray) -> str | None:
    """Return why ``model`` must train on ``(x, y)`` (the schedule), ``None`` to condition."""
    if not model._schedule.fast:
        sliced = model._params["refit_slice"] > 0 and model.module is not None
        return "reinit" if sliced and model._reinit_due() else "schedule"
    if model.module is None or model._cache is None or model._train_xy is None:
        return "first"
    old_x, old_y = model._train_xy
    n = len(old_y)
    if (
        len(y) <= n
        or x.shape[1:] != old_x.shape[1:]
        or not np.array_equal(y[:n], old_y)
        or not np.array_equal(x[:n], old_x)
    ):
        return "data"
    if model._reinit_due():
        return "reinit"
    return model._schedule.due(model._since_train, model._n_at_train, len(y))


def condition(
    model: Any, x: np.ndarray, y: np.ndarray, check_surprise: bool = True
) -> dict[str, Any] | str:
    """Condition ``model`` on the new rows of ``(x, y)``; else return the trigger to train.

    ``check_surprise=False``: never ``"surprise"`` (a model promoted from a background
    retrain is conditioned on the points that arrived while it trained).
    """
    n = len(model._train_xy[1])
    xt = model._tensor(model._transform(x))
    yt = model._tensor((y - model._y_loc) / model._y_scale)
    kernel = model.module.covar_module
    try:
        with torch.no_grad():
            z_new = model.module.feature_map(xt[n:])
        cache, w_new, b, l22 = extend_factor(model._cache, z_new, yt[n:], kernel)
    except FIT_ERRORS:
        return "failed"
    if check_surprise and model._schedule.surprised(w_new):
        return "surprise"
    cand = model._candidates
    if cand is not None and cand.version == model._version:
        cand.extend(kernel, z_new, b, l22, w_new)
    model._cache = cache
    model.module.set_train_data(xt, yt, strict=False)
    return {
        "loss": float("nan"),
        "iterations": 0,
        "reinit": False,
        "attempts": 1,
        "failures": [],
        "jitter_warnings": 0,
        "stale": False,
        "update": "condition",
        "trigger": None,
        "forecast_z": [float(v) for v in w_new.cpu()],
    }


def posterior_cache(m: GPModule, xt: torch.Tensor, yt: torch.Tensor) -> dict[str, torch.Tensor]:
    """Return the Cholesky factor ``L`` of the training covariance, ``alpha`` and ``w``.

    Also the training embeddings ``z``, the constant mean and the noise, for
    :class:`~autoscope.models._update.CandidateCache` and the fast path.

    Raises
    ------
    NonFiniteLoss
        The weights are not finite.
    """
    m.eval()
    with torch.no_grad():
        z = m.feature_map(xt)
        noise = m.likelihood.noise.reshape(())
        k = m.covar_module(z).to_dense()
        k = k + noise * torch.eye(k.shape[0], dtype=k.dtype, device=k.device)
        chol = cholesky_jittered(k)
        const = m.mean_module.constant.reshape(())
        alpha = torch.cholesky_solve((yt - const).unsqueeze(-1), chol).squeeze(-1)
        chol64 = chol.double()
        w = torch.linalg.solve_triangular(
            chol64, (yt - const).double().unsqueeze(-1), upper=False
        ).squeeze(-1)
    if not (torch.isfinite(alpha).all() and torch.isfinite(z).all()):
        raise NonFiniteLoss("posterior weights are not finite")
    return {"z": z, "L": chol64, "w": w, "alpha": alpha, "const": const, "noise": noise}
