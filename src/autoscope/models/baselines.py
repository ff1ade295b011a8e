r"""Baseline surrogates with the DKL model's interface: GP on coordinates, PCA-GP, static DKL.

All are :class:`~autoscope.models.GPSurrogate` subclasses (the same exact GP head,
robust fitting and warm start), differing only in the feature map ``phi``:

* :class:`GPCoords` — ``phi(r, c) = ((r, c) - min) / extent``: classic GP-BO on the
  pixel grid, blind to the structural image.
* :class:`PCAGP` — ``phi(x) = W^T (x - mean) / s``: the first ``k`` principal
  components of all candidate patches (fitted once, unsupervised).
* :class:`StaticDKL` — a DKL trained once, at its first fit (on the seed points),
  then frozen (the seed lecture's "static DKL").

The VAE-latent baseline is in :mod:`autoscope.models.vae`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoscope.errors import InputDataError, ModelFittingError
from autoscope.models._base import GPSurrogate
from autoscope.models._checks import check_int
from autoscope.models._registry import register
from autoscope.models._update import FIT_ERRORS
from autoscope.models.dkl import DKL

__all__ = ["GPCoords", "PCAGP", "StaticDKL", "pca"]


def _box(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = z.min(axis=0)
    span = float((z.max(axis=0) - lo).max())
    return lo, np.asarray(span if span > 0 else 1.0)


class GPCoords(GPSurrogate):
    r"""GP on pixel coordinates: :math:`k\big((r, c)/S, (r', c')/S\big)`, ARD Matern-5/2.

    ``S`` is the extent of the candidate grid (``prepare``), so inputs lie in
    ``[0, 1]^2``. Inputs are ``(n, 2)`` ``(row, col)``; ``input_kind = "coords"``.

    Parameters
    ----------
    lengthscale : float
        Initial lengthscale as a fraction of the grid extent.
    **kwargs
        GP options of :class:`~autoscope.models.GPSurrogate`.
    """

    name = "gp_coords"
    input_kind = "coords"

    def __init__(self, *, lengthscale: float | None = 0.1, **kwargs: Any):
        super().__init__(lengthscale=lengthscale, **kwargs)
        self._lo: np.ndarray | None = None
        self._span: np.ndarray | float | None = None

    def _prepare(self, x_all: np.ndarray) -> None:
        if x_all.ndim != 2 or x_all.shape[1] != 2:
            raise InputDataError(f"gp_coords expects (N, 2) coordinates, got {x_all.shape}")
        self._lo, self._span = _box(x_all.astype(np.float64))

    def _transform(self, x: np.ndarray) -> np.ndarray:
        if self._lo is None or self._span is None:
            raise ModelFittingError("gp_coords: prepare() has not seen the candidates yet")
        return (x.reshape(x.shape[0], -1).astype(np.float64) - self._lo) / self._span


def pca(
    flat: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal components of ``flat`` (N, D).

    Exact SVD when ``min(N, D) <= 2048``, otherwise a randomized range finder
    (Halko et al. 2011) with 10 extra columns and 2 power iterations.

    Returns
    -------
    mean : ndarray, shape (D,)
    components : ndarray, shape (k, D)
        Orthonormal rows, by decreasing variance.
    explained : ndarray, shape (k,)
        Variance along each component.
    """
    mean = flat.mean(axis=0)
    a = flat - mean
    k = min(k, *a.shape)
    if min(a.shape) <= 2048:
        _, s, vt = np.linalg.svd(a, full_matrices=False)
    else:
        q, _ = np.linalg.qr(a @ rng.standard_normal((a.shape[1], k + 10)))
        for _ in range(2):
            q, _ = np.linalg.qr(a @ (a.T @ q))
        _, s, vt = np.linalg.svd(q.T @ a, full_matrices=False)
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])  # deterministic sign
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    return mean, comps, s[:k] ** 2 / max(a.shape[0] - 1, 1)


class PCAGP(GPSurrogate):
    r"""GP on the principal components of the candidate patches.

    :math:`\phi(x) = W_k^\top (x - \bar x) / s_1`, ``W_k`` the first ``k`` principal
    directions of all candidates' flattened features (``prepare``), ``s_1`` the
    standard deviation along the first one (relative scales are kept); ARD
    Matern-5/2 on top.

    Parameters
    ----------
    n_components : int
        ``k`` (default 8).
    lengthscale : float
        Initial lengthscale in units of ``s_1``.
    **kwargs
        GP options of :class:`~autoscope.models.GPSurrogate`.
    """

    name = "pca_gp"

    def __init__(self, *, n_components: int = 8, lengthscale: float | None = 0.5, **kwargs: Any):
        super().__init__(lengthscale=lengthscale, **kwargs)
        self._params["n_components"] = check_int("n_components", n_components, 1, 256)
        self._pca: tuple[np.ndarray, np.ndarray, float] | None = None
        self._explained: np.ndarray | None = None

    def _prepare(self, x_all: np.ndarray) -> None:
        flat = x_all.reshape(x_all.shape[0], -1).astype(np.float64)
        rng = np.random.default_rng(self._params["seed"])
        mean, comps, var = pca(flat, self._params["n_components"], rng)
        s1 = float(np.sqrt(var[0])) if var.size and var[0] > 0 else 1.0
        self._pca = (mean, comps, s1)
        self._explained = var

    def _transform(self, x: np.ndarray) -> np.ndarray:
        if self._pca is None:
            raise ModelFittingError("pca_gp: prepare() has not seen the candidates yet")
        mean, comps, s1 = self._pca
        flat = x.reshape(x.shape[0], -1).astype(np.float64)
        return (flat - mean) @ comps.T / s1

    @property
    def explained_variance(self) -> np.ndarray | None:
        """Variance of the candidates along each component, shape (k,) (after ``prepare``)."""
        return self._explained


class StaticDKL(DKL):
    r"""DKL trained once, on the data of its first fit (the seed points), then frozen.

    Same model as :class:`~autoscope.models.DKL`. After the first fit:

    * ``update="condition"`` (default): extractor, kernel hyperparameters and target
      standardisation stay fixed; the GP posterior is re-conditioned on all data
      (BO in a fixed learned feature space, the seed's "static DKL");
    * ``update="head"``: the extractor stays fixed, the GP hyperparameters are
      re-optimised (``warm_iter`` steps);
    * ``update="none"``: nothing changes, predictions are those of the first fit.

    Parameters
    ----------
    update : {"condition", "head", "none"}
    **kwargs
        Options of :class:`~autoscope.models.DKL`.
    """

    name = "static_dkl"
    _UPDATES = ("condition", "head", "none")

    def __init__(self, *, update: str = "condition", **kwargs: Any):
        kwargs.setdefault("reinit_every", 0)
        super().__init__(**kwargs)
        if update not in self._UPDATES:
            raise InputDataError(f"update must be one of {self._UPDATES}, got {update!r}")
        self._params["update"] = update

    def _standardize(self, y: np.ndarray):
        if self.module is None or self._params["update"] == "head":
            return super()._standardize(y)
        return self._tensor((y - self._y_loc) / self._y_scale)

    def _fit(self, xt, yt, in_shape):
        if self.module is None:
            return super()._fit(xt, yt, in_shape)
        update = self._params["update"]
        report: dict[str, Any] = {
            "loss": float("nan"),
            "iterations": 0,
            "reinit": False,
            "attempts": 1,
        }
        report.update({"failures": [], "jitter_warnings": 0, "stale": update == "none"})
        if update == "none":
            return report
        if update == "head":
            self._train_feature_map = False
            try:
                return super()._fit(xt, yt, in_shape)
            finally:
                self._train_feature_map = True
        try:
            self._fitted_module().set_train_data(xt, yt, strict=False)  # type: ignore[operator]  # untyped gpytorch
            self._condition(xt, yt)
        except FIT_ERRORS as exc:
            raise ModelFittingError(f"static_dkl: re-conditioning failed: {exc}") from exc
        return report

    def _needs_reinit(self, in_shape):
        return self.module is None or self._in_shape != in_shape


register(GPCoords.name, GPCoords)
register(PCAGP.name, PCAGP)
register(StaticDKL.name, StaticDKL)
