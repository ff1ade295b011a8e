r"""Target similarity: how close a spectrum is to a target spectrum (human-voting workflows).

The target ``t`` is a JSON list of ``L`` numbers (one per axis point); for a
spectrum ``s``:

* ``"neg_mse"``: :math:`-\frac1L \sum_i (s_i - t_i)^2` (spectrum units², ≤ 0, 0 = identical);
* ``"cosine"``: :math:`\frac{s \cdot t}{\|s\|\, \|t\|}` (dimensionless, in [−1, 1]);
* ``"ssim"``: the structural-similarity index of Wang et al. (2004) over the
  whole spectrum as one window,
  :math:`\frac{(2\mu_s\mu_t + C_1)(2\sigma_{st} + C_2)}
  {(\mu_s^2 + \mu_t^2 + C_1)(\sigma_s^2 + \sigma_t^2 + C_2)}`
  with :math:`C_1 = (0.01 D)^2`, :math:`C_2 = (0.03 D)^2`, ``D`` the target's
  peak-to-peak range (dimensionless, ≤ 1, 1 = identical).

Larger is always more similar, so every metric can be maximised. NaN when the
spectrum holds non-finite values, or for ``"cosine"`` when either vector is zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.scalarizers._checks import check_choice, first_reason, reason_array, split_finite
from autoscope.scalarizers._registry import register

__all__ = ["similarity"]

METRICS = ("neg_mse", "cosine", "ssim")


def _check_similarity(axis, target: Any, metric="neg_mse") -> None:
    check_choice("metric", metric, METRICS)
    if isinstance(target, str | bytes) or not hasattr(target, "__len__"):
        raise InputDataError(f"parameter 'target' must be a list of numbers, got {target!r:.80}")
    try:
        t = np.asarray(target, dtype=float)
    except (TypeError, ValueError):
        raise InputDataError("parameter 'target' must be a list of numbers") from None
    if t.ndim != 1 or t.size < 2:
        raise InputDataError(
            f"parameter 'target' must be a 1-D list of >= 2 numbers, got {t.shape}"
        )
    if not np.all(np.isfinite(t)):
        raise InputDataError("parameter 'target' holds non-finite values")
    if axis is not None and t.size != np.asarray(axis).size:
        raise InputDataError(
            f"target length {t.size} does not match the axis length {np.asarray(axis).size}"
        )


def _vsimilarity(spectra, axis, target, metric="neg_mse", *, reasons=False):
    t = np.asarray(target, dtype=float)
    if t.size != spectra.shape[1]:
        raise InputDataError(
            f"target length {t.size} does not match the spectrum length {spectra.shape[1]}"
        )
    spectra, bad = split_finite(spectra)
    why = reason_array(len(spectra))
    why[bad] = "spectrum holds non-finite values"
    if metric == "neg_mse":
        val = -np.mean((spectra - t) ** 2, axis=1)
    elif metric == "cosine":
        den = np.linalg.norm(spectra, axis=1) * np.linalg.norm(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(den > 0, spectra @ t / den, np.nan)
        why[(den == 0) & (why == "")] = "zero vector: cosine similarity undefined"
    else:
        d = float(np.ptp(t)) or 1.0
        c1, c2 = (0.01 * d) ** 2, (0.03 * d) ** 2
        ms, mt = spectra.mean(axis=1), t.mean()
        vs, vt = spectra.var(axis=1), t.var()
        cov = ((spectra - ms[:, None]) * (t - mt)).mean(axis=1)
        val = ((2 * ms * mt + c1) * (2 * cov + c2)) / ((ms**2 + mt**2 + c1) * (vs + vt + c2))
    val = np.where(bad, np.nan, val)
    return (val, why) if reasons else val


def similarity(spectrum, axis, target, metric="neg_mse") -> float:
    r"""Similarity of the spectrum to ``target`` (see the module docstring for each metric).

    Parameters
    ----------
    spectrum : ndarray, shape (L,)
    axis : ndarray, shape (L,)
    target : list of float, length L
        The target spectrum, in spectrum units.
    metric : {"neg_mse", "cosine", "ssim"}
    """
    return float(_vsimilarity(spectrum[None], axis, target, metric)[0])


def _explain_similarity(spectrum, axis, **params):
    return first_reason(_vsimilarity(spectrum[None], axis, **params, reasons=True)[1])


register(
    "similarity",
    similarity,
    vectorized=_vsimilarity,
    check=_check_similarity,
    explain=_explain_similarity,
)
