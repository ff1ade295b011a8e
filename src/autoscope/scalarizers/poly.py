r"""The ``poly3`` scalarizer: a cubic without intercept, fitted by linear least squares.

.. math:: y(x) = A x^3 + B x^2 + C x, \qquad
          (A, B, C) = \arg\min \sum_i \big(y_i - A x_i^3 - B x_i^2 - C x_i\big)^2

over all points of the (despiked) curve. Used in the lecture's DKL-guided PFM
experiment on V_AC sweeps, where A, B, C and A/B were the target functions.
Units: ``A`` response/axis³, ``B`` response/axis², ``C`` response/axis, ``A/B``
1/axis. Being linear, the fit is exact, never fails on finite data and is
vectorised (one pseudo-inverse for a whole grid). NaN policy: non-finite
values in a curve give NaN; ``A/B`` is NaN when ``B = 0`` to round-off
(``|B'| <= 1e-10 max(|A'|, |B'|, |C'|)`` for the coefficients of the axis
scaled to [−1, 1]).
"""

from __future__ import annotations

import numpy as np

from autoscope.errors import InputDataError
from autoscope.scalarizers._checks import check_choice, first_reason, reason_array, split_finite
from autoscope.scalarizers._registry import register
from autoscope.scalarizers.despike import check_despike, hampel
from autoscope.scalarizers.loops import _is_closed

__all__ = ["poly3", "poly3_coefficients"]

POLY3 = ("A", "B", "C", "A/B")
_RELATIVE_ZERO = 1e-10


def _design(axis: np.ndarray) -> tuple[np.ndarray, float]:
    xs = float(np.max(np.abs(axis)))
    x = axis / xs if xs > 0 else axis
    design = np.stack([x**3, x**2, x], axis=1)
    if np.linalg.matrix_rank(design) < 3:
        raise InputDataError(
            "poly3 needs at least 3 distinct non-zero axis values, "
            f"got {np.unique(axis[axis != 0]).size}"
        )
    return design, xs


def _vpoly3(spectra, axis, coefficient="A", despike=9, spike_threshold=4.0, *, reasons=False):
    design, xs = _design(axis)
    safe, bad = split_finite(spectra)
    y = hampel(safe, despike, spike_threshold, cyclic=_is_closed(axis))
    coef = y @ np.linalg.pinv(design).T  # (n, 3) in scaled-x units
    a, b, c = coef[:, 0] / xs**3, coef[:, 1] / xs**2, coef[:, 2] / xs
    why = reason_array(len(spectra))
    why[bad] = "curve holds non-finite values"
    a[bad] = b[bad] = c[bad] = np.nan
    if coefficient == "A/B":
        # B counts as zero below round-off of the largest (scaled) coefficient
        zero = np.abs(coef[:, 1]) <= _RELATIVE_ZERO * np.abs(coef).max(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.where(zero, np.nan, a / b)
        why[zero & (why == "")] = "B = 0 (to round-off): A/B is undefined"
    else:
        val = {"A": a, "B": b, "C": c}[coefficient]
    return (val, why) if reasons else val


def poly3(spectrum, axis, coefficient="A", despike=9, spike_threshold=4.0) -> float:
    r"""One coefficient of the least-squares fit ``y = A x³ + B x² + C x``.

    ``coefficient`` is ``"A"``, ``"B"``, ``"C"`` or ``"A/B"``; units: response
    per axis unit cubed, squared, to the first power, and 1/axis unit. The curve
    is despiked first (``despike`` window, 0 = off; see
    :mod:`autoscope.scalarizers.despike`).
    """
    return float(_vpoly3(spectrum[None], axis, coefficient, despike, spike_threshold)[0])


def poly3_coefficients(spectrum, axis, despike=9, spike_threshold=4.0) -> dict[str, float]:
    """All of ``A``, ``B``, ``C`` and ``A/B`` for one curve (see :func:`poly3`).

    Returns
    -------
    dict of str to float
    """
    spectrum = np.asarray(spectrum, dtype=float)[None]
    axis = np.asarray(axis, dtype=float)
    return {k: float(_vpoly3(spectrum, axis, k, despike, spike_threshold)[0]) for k in POLY3}


def _check_poly3(axis, coefficient="A", despike=9, spike_threshold=4.0) -> None:
    check_choice("coefficient", coefficient, POLY3)
    check_despike(despike, spike_threshold)
    if axis is not None:
        _design(np.asarray(axis, dtype=float))


def _explain_poly3(spectrum, axis, **params):
    return first_reason(_vpoly3(spectrum[None], axis, **params, reasons=True)[1])


register("poly3", poly3, vectorized=_vpoly3, check=_check_poly3, explain=_explain_poly3)
