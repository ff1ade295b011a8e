r"""Despiking: a Hampel (running-median) filter that replaces isolated outliers.

Real hysteresis loops (e.g. the shared PbTiO3 BEPS grid) carry single-point and
short bursts of spikes, often 100× the loop height. Before a loop is
scalarized or fitted, each point ``x_i`` is compared with the median ``m_i`` of
a centred window of ``window`` points (mirrored at the ends):

.. math::

    x_i \leftarrow m_i \quad \text{if} \quad |x_i - m_i| > k \max(\hat\sigma_i, \hat\sigma_0),
    \qquad \hat\sigma_i = 1.4826\, \mathrm{median}_{j \in W_i} |x_j - m_i|,

with ``k = threshold`` and ``\hat\sigma_0`` the spectrum-wide noise scale
(1.4826 × the median absolute difference between the spectrum and its 3-point
running median), so that a window of identical values cannot make every small
deviation an outlier. A point is replaced only if that moves it towards the
spectrum's overall median (so a good point inside a window dominated by a
spike burst is left alone). A running median keeps steps (switching edges)
intact; a window of ``w`` points removes bursts of up to ``(w - 1) / 2``
consecutive spikes. ``window`` 0 or 1 switches despiking off. Closed loops are
filtered cyclically (windows wrap around), open sweeps with mirrored ends.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage as ndi

from autoscope.errors import InputDataError
from autoscope.scalarizers._checks import check_int, check_number

__all__ = ["check_despike", "hampel"]

_MAD_TO_SIGMA = 1.4826


def check_despike(window: object, threshold: object) -> None:
    """Raise ``ValueError`` unless ``window`` is 0, 1 or odd ≥ 3 and ``threshold`` > 0."""
    check_int("despike", window, minimum=0)
    if window > 1 and window % 2 == 0:  # type: ignore[operator]
        raise InputDataError(
            f"parameter 'despike' must be 0, 1 or an odd window >= 3, got {window!r}"
        )
    check_number("spike_threshold", threshold, minimum=0.0, strict=True)


def _windows(x: np.ndarray, window: int, cyclic: bool) -> np.ndarray:
    half = window // 2
    padded = np.pad(x, ((0, 0), (half, half)), mode="wrap" if cyclic else "reflect")
    return sliding_window_view(padded, window, axis=1)


def _running_median(x: np.ndarray, window: int, cyclic: bool) -> np.ndarray:
    return ndi.median_filter(x, size=(1, window), mode="wrap" if cyclic else "mirror")


def hampel(
    spectra: np.ndarray, window: int = 9, threshold: float = 4.0, *, cyclic: bool = False
) -> np.ndarray:
    """Return a despiked copy of a batch of 1-D spectra (see the module docstring).

    Parameters
    ----------
    spectra : ndarray, shape (n, L) or (L,)
        Spectra (any units).
    window : int
        Odd running-median window in points; 0 or 1 disables despiking.
    threshold : float
        Outlier threshold ``k`` in robust standard deviations.
    cyclic : bool
        Treat each spectrum as periodic (a closed loop): windows wrap around
        instead of being mirrored at the ends.

    Returns
    -------
    ndarray
        Same shape as ``spectra``; outliers replaced by the running median.
        Spectra holding non-finite values are returned unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.sin(np.linspace(0, 3, 20)); x[7] += 50.0
    >>> bool(abs(hampel(x)[7] - np.sin(3 * 7 / 19)) < 0.1)
    True
    """
    x = np.asarray(spectra, dtype=float)
    one = x.ndim == 1
    x2 = x[None] if one else x
    if window <= 1 or x2.shape[1] < 3:
        return x.copy()
    window = min(window, x2.shape[1] - (1 - x2.shape[1] % 2))  # odd and <= L
    half = window // 2
    med = _running_median(x2, window, cyclic)
    dev = np.abs(_windows(x2, window, cyclic) - med[:, :, None])
    sigma = _MAD_TO_SIGMA * np.partition(dev, half, axis=2)[:, :, half]  # odd window: the median
    sigma0 = _MAD_TO_SIGMA * np.median(np.abs(x2 - _running_median(x2, 3, cyclic)), axis=1)
    scale = np.maximum(sigma, sigma0[:, None])
    centre = np.median(x2, axis=1, keepdims=True)
    outlier = (np.abs(x2 - med) > threshold * scale) & (np.abs(med - centre) < np.abs(x2 - centre))
    outlier &= np.all(np.isfinite(x2), axis=1, keepdims=True)  # leave rows with NaN/inf alone
    out = np.where(outlier, med, x2)
    return out[0] if one else out
