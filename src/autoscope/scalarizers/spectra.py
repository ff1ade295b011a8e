"""Scalarizers for generic 1-D spectra (EELS, STS, Raman, ...): integrals and centroids."""

from __future__ import annotations

import numpy as np

from autoscope.errors import InputDataError
from autoscope.scalarizers._registry import register

__all__ = ["band_integral", "centroid"]


def _check_band(axis: np.ndarray | None, low: float, high: float) -> None:
    for label, v in (("low", low), ("high", high)):
        if not isinstance(v, int | float) or isinstance(v, bool) or not np.isfinite(v):
            raise InputDataError(f"band {label} must be a finite number, got {v!r}")
    if not low < high:
        raise InputDataError(f"band must have low < high, got low={low}, high={high}")
    if axis is not None:
        lo, hi = float(np.min(axis)), float(np.max(axis))
        if low < lo or high > hi:
            raise InputDataError(
                f"band [{low}, {high}] lies outside the axis range [{lo}, {hi}]"
            )


def _band_mask(axis: np.ndarray, low: float, high: float) -> np.ndarray:
    mask = (axis >= low) & (axis <= high)
    if mask.sum() < 2:
        raise InputDataError(f"band [{low}, {high}] holds fewer than 2 axis points")
    return mask


def _vband_integral(spectra: np.ndarray, axis: np.ndarray, low: float, high: float) -> np.ndarray:
    mask = _band_mask(axis, low, high)
    x = axis[mask]
    order = np.argsort(x)
    return np.trapezoid(spectra[:, mask][:, order], x[order], axis=1)


def band_integral(spectrum: np.ndarray, axis: np.ndarray, low: float, high: float) -> float:
    r"""Integral of the spectrum over an axis interval.

    .. math:: I = \int_{\mathrm{low}}^{\mathrm{high}} s(x)\, dx

    (trapezoid rule over the axis points inside the interval). Units: spectrum
    units × axis units.
    """
    return float(_vband_integral(spectrum[None], axis, low, high)[0])


def _vcentroid(spectra: np.ndarray, axis: np.ndarray, low: float, high: float) -> np.ndarray:
    mask = _band_mask(axis, low, high)
    w = np.clip(spectra[:, mask], 0.0, None)
    tot = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (w * axis[mask]).sum(axis=1) / tot
    return np.where(tot > 0, out, np.nan)


def centroid(spectrum: np.ndarray, axis: np.ndarray, low: float, high: float) -> float:
    r"""Intensity-weighted mean axis position in an interval.

    .. math:: \bar x = \frac{\sum_i x_i \max(s_i, 0)}{\sum_i \max(s_i, 0)},
              \quad x_i \in [\mathrm{low}, \mathrm{high}]

    Units: axis units. NaN where the interval holds no positive intensity.
    """
    return float(_vcentroid(spectrum[None], axis, low, high)[0])


register("band_integral", band_integral, vectorized=_vband_integral, check=_check_band)
register("centroid", centroid, vectorized=_vcentroid, check=_check_band)
