"""Scalarizers for generic 1-D spectra (EELS, STS, Raman, ...): integrals, maxima and centroids."""

from __future__ import annotations

import numpy as np

from autoscope.errors import InputDataError
from autoscope.scalarizers._checks import check_band, split_finite
from autoscope.scalarizers._registry import register

__all__ = ["band_integral", "band_max", "centroid"]


def _check_band(axis: np.ndarray | None, low: float, high: float) -> None:
    check_band(axis, low, high)


def _band_mask(axis: np.ndarray, low: float, high: float) -> np.ndarray:
    mask = (axis >= low) & (axis <= high)
    if mask.sum() < 2:
        raise InputDataError(f"band [{low}, {high}] holds fewer than 2 axis points")
    return mask


def _vband_integral(spectra: np.ndarray, axis: np.ndarray, low: float, high: float) -> np.ndarray:
    mask = _band_mask(axis, low, high)
    x = axis[mask]
    order = np.argsort(x)
    band, bad = split_finite(spectra[:, mask][:, order])
    return np.where(bad, np.nan, np.trapezoid(band, x[order], axis=1))


def band_integral(spectrum: np.ndarray, axis: np.ndarray, low: float, high: float) -> float:
    r"""Integral of the spectrum over an axis interval.

    .. math:: I = \int_{\mathrm{low}}^{\mathrm{high}} s(x)\, dx

    (trapezoid rule over the axis points inside the interval). Units: spectrum
    units × axis units.
    """
    return float(_vband_integral(spectrum[None], axis, low, high)[0])


def _vband_max(spectra: np.ndarray, axis: np.ndarray, low: float, high: float) -> np.ndarray:
    band, bad = split_finite(spectra[:, _band_mask(axis, low, high)])
    return np.where(bad, np.nan, band.max(axis=1))


def band_max(spectrum: np.ndarray, axis: np.ndarray, low: float, high: float) -> float:
    r"""Largest spectrum value inside an axis interval.

    .. math:: M = \max_{x_i \in [\mathrm{low}, \mathrm{high}]} s_i

    Units: spectrum units. NaN if the interval holds a non-finite value.
    """
    return float(_vband_max(spectrum[None], axis, low, high)[0])


def _vcentroid(spectra: np.ndarray, axis: np.ndarray, low: float, high: float) -> np.ndarray:
    mask = _band_mask(axis, low, high)
    band, bad = split_finite(spectra[:, mask])
    w = np.clip(band, 0.0, None)
    tot = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (w * axis[mask]).sum(axis=1) / tot
    return np.where((tot > 0) & ~bad, out, np.nan)


def centroid(spectrum: np.ndarray, axis: np.ndarray, low: float, high: float) -> float:
    r"""Intensity-weighted mean axis position in an interval.

    .. math:: \bar x = \frac{\sum_i x_i \max(s_i, 0)}{\sum_i \max(s_i, 0)},
              \quad x_i \in [\mathrm{low}, \mathrm{high}]

    Units: axis units. NaN where the interval holds no positive intensity.
    """
    return float(_vcentroid(spectrum[None], axis, low, high)[0])


def _explain_band(spectrum: np.ndarray, axis: np.ndarray, low: float, high: float) -> str | None:
    seg = spectrum[_band_mask(axis, low, high)]
    if not np.all(np.isfinite(seg)):
        return f"band [{low}, {high}] holds non-finite spectrum values"
    return None


def _explain_centroid(
    spectrum: np.ndarray, axis: np.ndarray, low: float, high: float
) -> str | None:
    reason = _explain_band(spectrum, axis, low, high)
    if reason is None and not np.any(spectrum[_band_mask(axis, low, high)] > 0):
        reason = f"band [{low}, {high}] holds no positive intensity"
    return reason


register(
    "band_integral",
    band_integral,
    vectorized=_vband_integral,
    check=_check_band,
    explain=_explain_band,
)
register("band_max", band_max, vectorized=_vband_max, check=_check_band, explain=_explain_band)
register("centroid", centroid, vectorized=_vcentroid, check=_check_band, explain=_explain_centroid)
