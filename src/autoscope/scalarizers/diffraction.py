r"""4D-STEM scalarizers: centre of mass (CoM) of a diffraction pattern, virtual annular detectors.

A pattern ``I`` has shape (K, K): rows run along the detector ``y`` coordinate,
columns along ``x``, both sampled by the same axis ``q`` (K,), e.g. in mrad.
The centre of mass relative to a reference centre ``(c_x, c_y)`` (default: the
axis centre ``((q_0 + q_{K-1})/2, (q_0 + q_{K-1})/2)``) is

.. math::

    \mathrm{CoM}_x = \frac{\sum_{ij} I_{ij}\, q_j}{\sum_{ij} I_{ij}} - c_x, \qquad
    \mathrm{CoM}_y = \frac{\sum_{ij} I_{ij}\, q_i}{\sum_{ij} I_{ij}} - c_y,

in axis units; its magnitude ``|CoM| = \sqrt{CoM_x^2 + CoM_y^2}`` (axis units)
and angle ``\theta = \mathrm{atan2}(CoM_y, CoM_x)`` (radians in (−π, π], from
+x towards +y). For a thin specimen the CoM shift is proportional to the
in-plane electric field (momentum transfer). NaN when the total intensity is
not positive or the pattern holds non-finite values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.scalarizers._checks import check_number, first_reason, reason_array, split_finite
from autoscope.scalarizers._registry import register

__all__ = ["annular_integral", "com_angle", "com_magnitude", "com_x", "com_y"]


def _check_center(axis: np.ndarray | None, center: Any = None) -> None:
    if center is None:
        return
    if not isinstance(center, list | tuple | np.ndarray) or len(center) != 2:
        raise InputDataError(f"parameter 'center' must be None or [cx, cy], got {center!r}")
    check_number("center[0] (cx)", center[0])
    check_number("center[1] (cy)", center[1])
    if axis is not None:
        lo, hi = float(np.min(axis)), float(np.max(axis))
        for label, c in (("cx", center[0]), ("cy", center[1])):
            if not lo <= c <= hi:
                raise InputDataError(
                    f"center {label}={c} lies outside the detector axis range [{lo}, {hi}]"
                )


def _centre(axis: np.ndarray, center: Any) -> tuple[float, float]:
    if center is None:
        mid = 0.5 * float(axis[0] + axis[-1])
        return mid, mid
    return float(center[0]), float(center[1])


def _vcom(spectra: np.ndarray, axis: np.ndarray, center: Any):
    cx, cy = _centre(axis, center)
    spectra, bad = split_finite(spectra)
    tot = spectra.sum(axis=(1, 2))
    why = reason_array(len(spectra))
    why[bad] = "pattern holds non-finite values"
    why[~bad & (tot <= 0)] = "total pattern intensity is not positive"
    ok = ~bad & (tot > 0)
    safe = np.where(ok, tot, 1.0)
    mx = spectra.sum(axis=1) @ axis / safe - cx  # column sums weight x
    my = spectra.sum(axis=2) @ axis / safe - cy  # row sums weight y
    return np.where(ok, mx, np.nan), np.where(ok, my, np.nan), why


def _make_com(kind: str):
    def vfunc(spectra, axis, center=None, *, reasons=False):
        mx, my, why = _vcom(spectra, axis, center)
        if kind == "x":
            val = mx
        elif kind == "y":
            val = my
        elif kind == "magnitude":
            val = np.hypot(mx, my)
        else:
            val = np.arctan2(my, mx)
        return (val, why) if reasons else val

    return vfunc


_vcom_x, _vcom_y = _make_com("x"), _make_com("y")
_vcom_magnitude, _vcom_angle = _make_com("magnitude"), _make_com("angle")


def com_x(spectrum, axis, center=None) -> float:
    r"""CoM shift along detector ``x`` (columns), axis units (see module docstring)."""
    return float(_vcom_x(spectrum[None], axis, center)[0])


def com_y(spectrum, axis, center=None) -> float:
    r"""CoM shift along detector ``y`` (rows), axis units (see module docstring)."""
    return float(_vcom_y(spectrum[None], axis, center)[0])


def com_magnitude(spectrum, axis, center=None) -> float:
    r"""CoM shift magnitude :math:`\sqrt{CoM_x^2 + CoM_y^2}`, axis units."""
    return float(_vcom_magnitude(spectrum[None], axis, center)[0])


def com_angle(spectrum, axis, center=None) -> float:
    r"""CoM shift direction :math:`\mathrm{atan2}(CoM_y, CoM_x)`, radians in (−π, π]."""
    return float(_vcom_angle(spectrum[None], axis, center)[0])


def _radius(axis: np.ndarray, center: Any) -> np.ndarray:
    cx, cy = _centre(axis, center)
    return np.hypot(axis[None, :] - cx, axis[:, None] - cy)


def _check_annulus(axis, inner, outer, center=None) -> None:
    check_number("inner", inner, minimum=0.0)
    check_number("outer", outer, minimum=0.0, strict=True)
    if not outer > inner:
        raise InputDataError(f"annulus needs outer > inner, got inner={inner}, outer={outer}")
    _check_center(axis, center)
    if axis is not None:
        r = _radius(np.asarray(axis, dtype=float), center)
        n = int(np.count_nonzero((r >= inner) & (r < outer)))
        if n == 0:
            raise InputDataError(
                f"annulus [{inner}, {outer}) holds no detector pixel "
                f"(pattern radii from the centre span [{r.min():.4g}, {r.max():.4g}])"
            )


def _vannular(spectra, axis, inner, outer, center=None, *, reasons=False):
    r = _radius(axis, center)
    mask = (r >= inner) & (r < outer)
    band, bad = split_finite(spectra[:, mask])
    val = np.where(bad, np.nan, band.sum(axis=1))
    why = reason_array(len(spectra))
    why[bad] = "pattern holds non-finite values in the annulus"
    return (val, why) if reasons else val


def annular_integral(spectrum, axis, inner, outer, center=None) -> float:
    r"""Virtual annular detector: the pattern summed over an annulus.

    .. math:: S = \sum_{ij} I_{ij}\, [\,r_{\mathrm{in}} \le r_{ij} < r_{\mathrm{out}}\,],
              \qquad r_{ij} = \sqrt{(q_j - c_x)^2 + (q_i - c_y)^2}

    ``inner``/``outer`` in axis units (e.g. mrad), centre as for the CoM.
    Units: pattern units (e.g. counts).
    """
    return float(_vannular(spectrum[None], axis, inner, outer, center)[0])


def _explainer(vfunc):
    def explain(spectrum, axis, **params):
        return first_reason(vfunc(spectrum[None], axis, **params, reasons=True)[1])

    return explain


for _name, _f, _v in (
    ("com_x", com_x, _vcom_x),
    ("com_y", com_y, _vcom_y),
    ("com_magnitude", com_magnitude, _vcom_magnitude),
    ("com_angle", com_angle, _vcom_angle),
):
    register(
        _name,
        _f,
        vectorized=_v,
        check=_check_center,
        spectrum_ndim=2,
        explain=_explainer(_v),
    )
register(
    "annular_integral",
    annular_integral,
    vectorized=_vannular,
    check=_check_annulus,
    spectrum_ndim=2,
    explain=_explainer(_vannular),
)
