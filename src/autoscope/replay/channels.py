r"""Which structural channel predicts the measured property best ("DKL: learning the best channel").

For a run guided by a multi-channel structural image (PFM amplitude, phase,
topography, ...), every non-empty subset :math:`S` of the channels is scored by how
well a GP on the patches of those channels alone predicts the measured scalars:

.. math:: z_i = V_k^\top(\mathrm{vec}\,x_i^{(S)} - \bar x) / s_1,\qquad
          y = f(z) + \varepsilon,\
          f \sim \mathcal{GP}(0, \sigma_f^2 e^{-\lVert z - z'\rVert^2 / 2\ell^2}),\
          \varepsilon \sim \mathcal N(0, \sigma_n^2)

with :math:`V_k` the first ``k`` principal directions of all candidates' patches
(unsupervised, known before the experiment), :math:`s_1` the standard deviation along
the first, :math:`y` the standardised scalars and :math:`(\ell, \sigma_f, \sigma_n)`
maximising the log marginal likelihood :math:`\log p(y\mid Z)` (on a grid of
:math:`\ell` and :math:`\sigma_n^2/\sigma_f^2`, :math:`\sigma_f^2` in closed form).
Scores per subset:

- ``kfold_nrmse``: held-out RMSE / std(y) over ``n_folds`` contiguous blocks *along the
  path order* (each block predicted from the others, hyperparameters refitted);
- ``path_nrmse``: prequential error, each point predicted from the points measured
  before it (the all-data hyperparameters), as the experiment would have seen it;
- ``loo_nrmse``: closed-form leave-one-out, :math:`r_i = [K^{-1}y]_i / [K^{-1}]_{ii}`;
- ``log_ml``: :math:`\log p(y \mid Z)` per point at the optimum.

The table is sorted by ``kfold_nrmse`` (then by ``-log_ml``): the first row names the
channels to guide with next time. The GP on patch PCA is a fast, deterministic proxy
for a DKL per subset; pass ``model="dkl"`` (any :mod:`autoscope.models` spec) to fit
that model instead (slower).

References
----------
S. V. Kalinin, lecture 25 "Deep kernel learning for automated experiment in imaging",
slide "DKL: learning the best channel" (V_AC sweeps guided by PFM channels).
"""

from __future__ import annotations

from contextlib import nullcontext
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from autoscope.errors import InputDataError
from autoscope.replay._common import check_trace, pca_embed

if TYPE_CHECKING:
    from autoscope.trace import ExperimentTrace

__all__ = ["best_channel", "channel_names", "gp_log_ml"]

_LOG2PI = float(np.log(2.0 * np.pi))


def channel_names(trace: ExperimentTrace) -> list[str]:
    """Names of the structural image's channels (from the stored sample description)."""
    img = np.asarray(trace.image)
    n = img.shape[2] if img.ndim == 3 else 1
    names = ((getattr(trace, "instrument", None) or {}).get("sample") or {}).get("channels")
    if isinstance(names, list | tuple) and len(names) == n:
        return [str(c) for c in names]
    return [f"channel{i}" for i in range(n)]


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.clip(d, 0.0, None)


def _kernel(a: np.ndarray, b: np.ndarray, log_ell: float, log_sf2: float) -> np.ndarray:
    return np.exp(log_sf2) * np.exp(-0.5 * _sqdist(a, b) / np.exp(2.0 * log_ell))


def gp_log_ml(theta: np.ndarray, z: np.ndarray, y: np.ndarray) -> float:
    r"""Log marginal likelihood of a zero-mean RBF GP, :math:`\log p(y \mid Z, \theta)`.

    Parameters
    ----------
    theta : ndarray, shape (3,)
        :math:`(\log \ell, \log \sigma_f^2, \log \sigma_n^2)`.
    z : ndarray, shape (n, k)
        Inputs.
    y : ndarray, shape (n,)
        Targets.

    Returns
    -------
    float
        :math:`-\tfrac12 y^\top K^{-1} y - \tfrac12 \log|K| - \tfrac n2 \log 2\pi`
        (``-inf`` if ``K`` is not positive definite).
    """
    k = _kernel(z, z, theta[0], theta[1]) + np.exp(theta[2]) * np.eye(len(y))
    try:
        c, low = cho_factor(k, lower=True)
    except np.linalg.LinAlgError:
        return -np.inf
    alpha = cho_solve((c, low), y)
    return float(-0.5 * y @ alpha - np.log(np.diag(c)).sum() - 0.5 * len(y) * _LOG2PI)


def _fit(z: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray:
    r"""Maximise the log ML on a grid of :math:`(\ell, \lambda = \sigma_n^2/\sigma_f^2)`.

    With :math:`K = \sigma_f^2 (R_\ell + \lambda I)` the optimal :math:`\sigma_f^2` is
    :math:`y^\top (R_\ell + \lambda I)^{-1} y / n` in closed form, and one eigendecomposition
    of :math:`R_\ell` serves every :math:`\lambda`: deterministic and fast.
    """
    n = len(y)
    d2 = _sqdist(z, z)
    ells = max(scale, 1e-6) * np.logspace(np.log10(0.05), np.log10(20.0), 28)
    lams = np.logspace(-4.0, 1.0, 31)
    best, best_val = np.zeros(3), -np.inf
    for ell in ells:
        s, u = np.linalg.eigh(np.exp(-0.5 * d2 / ell**2))
        s = np.clip(s, 0.0, None)
        b = (u.T @ y) ** 2
        den = s[None, :] + lams[:, None]
        sf2 = np.maximum((b[None, :] / den).sum(axis=1) / n, 1e-300)
        lml = -0.5 * (n + np.log(den).sum(axis=1) + n * np.log(sf2) + n * _LOG2PI)
        j = int(np.argmax(lml))
        if lml[j] > best_val:
            best_val = float(lml[j])
            best = np.array([np.log(ell), np.log(sf2[j]), np.log(lams[j] * sf2[j])])
    return best


def _predict(theta: np.ndarray, zt: np.ndarray, yt: np.ndarray, zs: np.ndarray) -> np.ndarray:
    k = _kernel(zt, zt, theta[0], theta[1]) + np.exp(theta[2]) * np.eye(len(yt))
    c = cho_factor(k, lower=True)
    return _kernel(zs, zt, theta[0], theta[1]) @ cho_solve(c, yt)


def _score_gp(z: np.ndarray, y: np.ndarray, n_folds: int, n_start: int) -> dict[str, Any]:
    n = len(y)
    scale = float(np.sqrt(np.median(_sqdist(z, z)[np.triu_indices(n, 1)]))) if n > 1 else 1.0
    theta = _fit(z, y, scale)
    k = _kernel(z, z, theta[0], theta[1]) + np.exp(theta[2]) * np.eye(n)
    kinv = cho_solve(cho_factor(k, lower=True), np.eye(n))
    loo = (kinv @ y) / np.diag(kinv)
    folds = np.array_split(np.arange(n), min(n_folds, n))
    held = np.empty(n)
    for f in folds:
        rest = np.setdiff1d(np.arange(n), f)
        th = _fit(z[rest], y[rest], scale)
        held[f] = y[f] - _predict(th, z[rest], y[rest], z[f])
    path = [
        y[t] - _predict(theta, z[:t], y[:t], z[t : t + 1])[0] for t in range(max(n_start, 2), n)
    ]
    return {
        "kfold_nrmse": float(np.sqrt(np.mean(held**2))),
        "path_nrmse": float(np.sqrt(np.mean(np.square(path)))) if path else float("nan"),
        "loo_nrmse": float(np.sqrt(np.mean(loo**2))),
        "log_ml": gp_log_ml(theta, z, y) / n,
        "lengthscale": float(np.exp(theta[0])),
        "signal_var": float(np.exp(theta[1])),
        "noise_var": float(np.exp(theta[2])),
    }


def _score_model(model: Any, x: np.ndarray, y: np.ndarray, n_folds: int) -> dict[str, Any]:
    from autoscope import models

    m = models.from_spec(model)
    spec = m.spec
    report = m.fit(x, y)
    folds = np.array_split(np.arange(len(y)), min(n_folds, len(y)))
    held = np.empty(len(y))
    for f in folds:
        rest = np.setdiff1d(np.arange(len(y)), f)
        mf = models.from_spec(spec)
        mf.fit(x[rest], y[rest])
        held[f] = y[f] - mf.predict(x[f])[0]
    loss = float(report.get("loss", np.nan))
    return {"kfold_nrmse": float(np.sqrt(np.mean(held**2))), "path_nrmse": float("nan"),
            "loo_nrmse": float("nan"), "log_ml": -loss}  # fmt: skip


def best_channel(
    trace: ExperimentTrace,
    channels: Any = None,
    *,
    max_size: int | None = None,
    n_components: int = 8,
    n_folds: int = 5,
    normalize: str | None = "image",
    model: Any = None,
) -> list[dict[str, Any]]:
    """Rank structural channels (and their combinations) by how well they predict the scalar.

    Parameters
    ----------
    trace : ExperimentTrace
        A stored run on an (H, W, C) image (a 2-D image gives one row).
    channels : list of str or int, optional
        Channels to consider (names from the stored sample description, or indices);
        default all. Every non-empty subset of them is scored.
    max_size : int, optional
        Largest subset size (default: all channels together).
    n_components : int
        ``k``, principal components of the patches fed to the GP.
    n_folds : int
        Contiguous folds along the path for the held-out error (>= 2).
    normalize : {"image", "patch", None}
        Patch normalisation (:func:`autoscope.features.extract_patches`).
    model : str or dict, optional
        An :mod:`autoscope.models` spec (e.g. ``"dkl"``) to score instead of the GP on
        PCA (no ``path_nrmse``/``loo_nrmse`` then).

    Returns
    -------
    list of dict
        One row per subset, best first: ``channels`` (tuple of names), ``indices``,
        ``n`` (points used), the scores of the module docstring and the GP
        hyperparameters (standardised units).

    Raises
    ------
    InputDataError
        Unknown channel, fewer than 4 finite measured values, bad ``n_folds``.
    """
    check_trace(trace)
    names = channel_names(trace)
    picked = _pick_channels(names, channels)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise InputDataError(f"n_folds must be an int >= 2, got {n_folds!r}")
    values = np.asarray(trace.values, dtype=float)
    ok = np.isfinite(values)
    if ok.sum() < 4:
        raise InputDataError(f"best_channel needs >= 4 finite measured values, got {int(ok.sum())}")
    ids = np.asarray(trace.measured_ids, dtype=np.int64)[ok]
    y = values[ok]
    y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
    n_start = int((trace.specs or {}).get("n_seed") or 3)
    patches = np.asarray(trace.patches(normalize=normalize), dtype=float)
    if patches.ndim == 3:
        patches = patches[..., None]
    top = len(picked) if max_size is None else max(1, min(int(max_size), len(picked)))
    with _one_blas_thread():
        rows = _score_subsets(
            patches, picked, names, top, ids, y, n_folds, n_start, n_components, model
        )
    rows.sort(key=lambda r: (r["kfold_nrmse"], -r["log_ml"]))
    for rank, r in enumerate(rows):
        r["rank"] = rank
    return rows


def _score_subsets(patches, picked, names, top, ids, y, n_folds, n_start, n_components, model):
    rows = []
    for size in range(1, top + 1):
        for subset in combinations(picked, size):
            x_all = patches[..., list(subset)]
            if model is None:
                z, _ = pca_embed(x_all.reshape(len(x_all), -1), n_components)
                s1 = float(z[:, 0].std()) if z.size and z[:, 0].std() > 0 else 1.0
                scores = _score_gp(z[ids] / s1, y, n_folds, n_start)
            else:
                scores = _score_model(model, x_all[ids], y, n_folds)
            row: dict[str, Any] = {
                "channels": tuple(names[i] for i in subset),
                "indices": tuple(subset),
            }
            row.update(n=int(len(y)), **scores)
            rows.append(row)
    return rows


def _one_blas_thread() -> Any:
    """Small dense linear algebra runs ~30x faster on one BLAS thread than on two busy ones."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        return nullcontext()
    return threadpool_limits(1)


def _pick_channels(names: list[str], channels: Any) -> list[int]:
    if channels is None:
        return list(range(len(names)))
    if isinstance(channels, str | int):
        channels = [channels]
    out = []
    for c in channels:
        if isinstance(c, str) and c in names:
            out.append(names.index(c))
        elif isinstance(c, int | np.integer) and not isinstance(c, bool) and 0 <= c < len(names):
            out.append(int(c))
        else:
            raise InputDataError(f"unknown channel {c!r}; the image has channels {names}")
    if len(set(out)) != len(out) or not out:
        raise InputDataError(f"channels must be distinct and non-empty, got {channels!r}")
    return sorted(out)
