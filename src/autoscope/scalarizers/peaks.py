r"""Peak scalarizers: position, width and height of one peak from a bounded fit, and peak ratios.

A peak in the axis interval ``[low, high]`` is fitted with

.. math::

    s(x) = h\, p\!\left(\frac{x - x_0}{w}\right) + c_0 + c_1 (x - \bar x),
    \qquad p_G(u) = e^{-4 \ln 2\, u^2}, \quad p_L(u) = \frac{1}{1 + 4 u^2},

(Gaussian or Lorentzian profile ``p``, both parameterised by their full width
at half maximum ``w``; ``\bar x`` the band centre; the background is linear,
constant or absent) with :func:`scipy.optimize.least_squares` under bounds
``low <= x0 <= high``, ``0 < w <= 2 (high - low)``, ``h >= 0``.

Robust fallback: when the fit does not converge or its optimum sits on a bound,
the non-parametric estimate is used instead (position: parabolic interpolation
of the maximum of the background-subtracted band; height: that maximum; width:
interpolated half-maximum crossings). Values are NaN (with a reason from
:meth:`Scalarizer.explain <autoscope.scalarizers.Scalarizer.explain>`) when the
band holds non-finite values, is flat, holds no peak above the background
(lower than 1e-6 of the band's range), has its maximum on the band edge (no
peak inside the band) or no half-maximum crossing on one side (width only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from autoscope.scalarizers._checks import check_band, check_choice
from autoscope.scalarizers._registry import register
from autoscope.scalarizers.spectra import _vband_integral, _vband_max

__all__ = [
    "PeakFit",
    "fit_peak",
    "peak_height",
    "peak_position",
    "peak_ratio",
    "peak_width",
]

MODELS = ("gaussian", "lorentzian")
BACKGROUNDS = ("linear", "constant", "none")
RATIO_METHODS = ("max", "integral", "fit")
_NAN = float("nan")
#: peaks lower than this fraction of the band's peak-to-peak range count as absent
_MIN_REL_HEIGHT = 1e-6


@dataclass(frozen=True)
class PeakFit:
    """Result of :func:`fit_peak`.

    Attributes
    ----------
    position : float
        Peak centre ``x0`` (axis units).
    width : float
        Full width at half maximum ``w`` (axis units).
    height : float
        Peak amplitude ``h`` above the background (spectrum units).
    method : str
        ``"fit"`` (least-squares fit accepted), ``"fallback"`` (non-parametric
        estimate) or ``"none"`` (no estimate; values NaN).
    reason : str or None
        Why the fit was not used or a value is NaN; ``None`` for a clean fit.
    """

    position: float
    width: float
    height: float
    method: str
    reason: str | None = None


def _profile(u: np.ndarray, model: str) -> np.ndarray:
    if model == "gaussian":
        return np.exp(-4.0 * np.log(2.0) * u * u)
    return 1.0 / (1.0 + 4.0 * u * u)


def _half_max_width(x: np.ndarray, r: np.ndarray, i: int) -> float:
    """FWHM from linearly interpolated half-maximum crossings around index ``i``."""
    half = r[i] / 2.0
    left = np.nonzero(r[:i] < half)[0]
    right = np.nonzero(r[i + 1 :] < half)[0]
    if left.size == 0 or right.size == 0:
        return _NAN
    j = left[-1]  # r[j] < half <= r[j + 1]
    xl = x[j] + (half - r[j]) * (x[j + 1] - x[j]) / (r[j + 1] - r[j])
    k = i + 1 + right[0]  # r[k - 1] >= half > r[k]
    xr = x[k - 1] + (r[k - 1] - half) * (x[k] - x[k - 1]) / (r[k - 1] - r[k])
    return float(xr - xl)


def _fallback(x: np.ndarray, r: np.ndarray, why: str) -> PeakFit:
    i = int(np.argmax(r))
    if i == 0 or i == x.size - 1:
        return PeakFit(_NAN, _NAN, _NAN, "none", f"{why}; maximum on the band edge: no peak inside")
    y0, y1, y2 = r[i - 1], r[i], r[i + 1]
    den = y0 - 2.0 * y1 + y2
    shift = 0.5 * (y0 - y2) / den if den < 0 else 0.0
    shift = float(np.clip(shift, -0.5, 0.5))
    step = x[i + 1] - x[i] if shift > 0 else x[i] - x[i - 1]
    pos = float(x[i] + shift * step)
    height = float(y1 - 0.25 * (y0 - y2) * shift)
    width = _half_max_width(x, r, i)
    reason = f"{why}; non-parametric estimate used"
    if not np.isfinite(width):
        reason += " (no half-maximum crossing on one side: width is NaN)"
    return PeakFit(pos, width, height, "fallback", reason)


def fit_peak(
    spectrum: np.ndarray,
    axis: np.ndarray,
    low: float,
    high: float,
    model: str = "gaussian",
    background: str = "linear",
) -> PeakFit:
    """Fit one Gaussian/Lorentzian peak in ``[low, high]`` (see the module docstring).

    Parameters
    ----------
    spectrum : ndarray, shape (L,)
        Spectrum values (any units).
    axis : ndarray, shape (L,)
        Axis values (e.g. energy loss in eV); need not be sorted.
    low, high : float
        The fit window, axis units.
    model : {"gaussian", "lorentzian"}
        Peak profile.
    background : {"linear", "constant", "none"}
        Background under the peak inside the window.

    Returns
    -------
    PeakFit
        Position, FWHM and height with the method used and, if any, the reason
        for a fallback or NaN. Never raises for bad data, only for bad parameters.
    """
    mask = (axis >= low) & (axis <= high)
    order = np.argsort(axis[mask], kind="stable")
    x = axis[mask][order]
    y = spectrum[mask][order]
    if x.size < 3:
        return PeakFit(_NAN, _NAN, _NAN, "none", f"band [{low}, {high}] holds < 3 points")
    if not np.all(np.isfinite(y)):
        return PeakFit(_NAN, _NAN, _NAN, "none", f"band [{low}, {high}] holds non-finite values")
    scale = float(np.ptp(y))
    if scale == 0.0:
        return PeakFit(_NAN, _NAN, _NAN, "none", f"spectrum is flat in band [{low}, {high}]")
    off = float(np.median(y)) if background != "none" else 0.0
    yn = (y - off) / scale
    xm, span = 0.5 * (x[0] + x[-1]), x[-1] - x[0]
    k = max(1, x.size // 10)
    el, er = float(np.mean(yn[:k])), float(np.mean(yn[-k:]))
    xl, xr = float(np.mean(x[:k])), float(np.mean(x[-k:]))
    if background == "linear":
        c1 = (er - el) / (xr - xl) if xr > xl else 0.0
        c0 = el + c1 * (xm - xl)
        bg = c0 + c1 * (x - xm)
    elif background == "constant":
        c0, c1 = min(el, er), 0.0
        bg = np.full_like(x, c0)
    else:
        c0 = c1 = 0.0
        bg = np.zeros_like(x)
    r = yn - bg
    i = int(np.argmax(r))
    if r[i] <= _MIN_REL_HEIGHT:
        return PeakFit(_NAN, _NAN, _NAN, "none", "no peak above the background")
    w0 = _half_max_width(x, r, i)
    dx = float(np.min(np.diff(x))) if x.size > 1 else span
    wmin, wmax = max(dx * 0.25, span * 1e-6), 2.0 * span
    if not np.isfinite(w0):
        w0 = span / 4.0
    w0 = float(np.clip(w0, wmin * 1.01, wmax * 0.99))
    nbg = {"linear": 2, "constant": 1, "none": 0}[background]

    def model_of(p: np.ndarray) -> np.ndarray:
        out = p[2] * _profile((x - p[0]) / p[1], model)
        if nbg >= 1:
            out = out + p[3]
        if nbg == 2:
            out = out + p[4] * (x - xm)
        return out

    p0 = [float(np.clip(x[i], low, high)), w0, float(r[i])] + [c0, c1][:nbg]
    lb = [low, wmin, 0.0] + [-np.inf] * nbg
    ub = [high, wmax, np.inf] + [np.inf] * nbg

    def fallback(why: str) -> PeakFit:
        fb = _fallback(x, r, why)
        return PeakFit(fb.position, fb.width, fb.height * scale, fb.method, fb.reason)

    try:
        res = least_squares(
            lambda p: model_of(p) - yn, p0, bounds=(lb, ub), method="trf", x_scale="jac"
        )
    except (ValueError, np.linalg.LinAlgError) as exc:  # defensive: never crash on data
        return fallback(f"fit raised {type(exc).__name__}")
    p = res.x
    if not res.success or not np.all(np.isfinite(p)):
        return fallback(f"fit did not converge ({res.message})")
    tol = 1e-6 * span
    if p[0] - low <= tol or high - p[0] <= tol:
        return fallback("fitted position on the band edge")
    if p[1] >= wmax * (1 - 1e-6) or p[1] <= wmin * (1 + 1e-6):
        return fallback("fitted width on its bound")
    if p[2] <= _MIN_REL_HEIGHT:
        return fallback("fitted height is zero")
    return PeakFit(float(p[0]), float(p[1]), float(p[2] * scale), "fit", None)


def _check_peak(axis, low, high, model="gaussian", background="linear") -> None:
    check_band(axis, low, high, min_points=3)
    check_choice("model", model, MODELS)
    check_choice("background", background, BACKGROUNDS)


def peak_position(spectrum, axis, low, high, model="gaussian", background="linear") -> float:
    r"""Centre ``x0`` of the peak fitted in ``[low, high]`` (axis units).

    Model: ``s(x) = h p((x - x0)/w) + background`` (module docstring). NaN when
    no peak lies inside the band.
    """
    return fit_peak(spectrum, axis, low, high, model, background).position


def peak_width(spectrum, axis, low, high, model="gaussian", background="linear") -> float:
    r"""Full width at half maximum ``w`` of the peak fitted in ``[low, high]`` (axis units).

    For a Gaussian ``w = 2 \sqrt{2 \ln 2}\, \sigma``; for a Lorentzian ``w = 2 \gamma``.
    """
    return fit_peak(spectrum, axis, low, high, model, background).width


def peak_height(spectrum, axis, low, high, model="gaussian", background="linear") -> float:
    r"""Amplitude ``h`` of the peak fitted in ``[low, high]`` above its background.

    Units: spectrum units.
    """
    return fit_peak(spectrum, axis, low, high, model, background).height


def _explain_peak(spectrum, axis, low, high, model="gaussian", background="linear"):
    return fit_peak(spectrum, axis, low, high, model, background).reason


def _ratio_parts(spectra, axis, low1, high1, low2, high2, method, model):
    if method == "max":
        return _vband_max(spectra, axis, low1, high1), _vband_max(spectra, axis, low2, high2)
    if method == "integral":
        return (
            _vband_integral(spectra, axis, low1, high1),
            _vband_integral(spectra, axis, low2, high2),
        )
    num = np.array([fit_peak(s, axis, low1, high1, model).height for s in spectra])
    den = np.array([fit_peak(s, axis, low2, high2, model).height for s in spectra])
    return num, den


def _vpeak_ratio(spectra, axis, low1, high1, low2, high2, method="max", model="gaussian"):
    num, den = _ratio_parts(spectra, axis, low1, high1, low2, high2, method, model)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / den, np.nan)


def peak_ratio(spectrum, axis, low1, high1, low2, high2, method="max", model="gaussian") -> float:
    r"""Ratio of a peak quantity in band 1 to the same quantity in band 2.

    .. math:: \rho = Q_1 / Q_2

    with ``Q`` the band maximum (``method="max"``, spectrum units), the band
    integral (``"integral"``, spectrum × axis units) or the fitted peak height
    (``"fit"``, with ``model``). Dimensionless. NaN when ``Q_2 = 0`` or either
    quantity is undefined (e.g. no peak in a band for ``"fit"``).
    """
    return float(_vpeak_ratio(spectrum[None], axis, low1, high1, low2, high2, method, model)[0])


def _check_ratio(axis, low1, high1, low2, high2, method="max", model="gaussian") -> None:
    check_band(axis, low1, high1, label="band 1", min_points=2 if method != "fit" else 3)
    check_band(axis, low2, high2, label="band 2", min_points=2 if method != "fit" else 3)
    check_choice("method", method, RATIO_METHODS)
    check_choice("model", model, MODELS)


def _explain_ratio(spectrum, axis, low1, high1, low2, high2, method="max", model="gaussian"):
    if method == "fit":
        for k, (lo, hi) in enumerate(((low1, high1), (low2, high2)), start=1):
            reason = fit_peak(spectrum, axis, lo, hi, model).reason
            if reason is not None:
                return f"band {k}: {reason}"
    num, den = _ratio_parts(spectrum[None], axis, low1, high1, low2, high2, method, model)
    if not (np.isfinite(num[0]) and np.isfinite(den[0])):
        return "a band quantity is not finite (non-finite spectrum values)"
    if den[0] == 0:
        return "band 2 quantity is zero (division by zero)"
    return None


for _name, _func in (
    ("peak_position", peak_position),
    ("peak_width", peak_width),
    ("peak_height", peak_height),
):
    register(_name, _func, check=_check_peak, explain=_explain_peak)
register(
    "peak_ratio", peak_ratio, vectorized=_vpeak_ratio, check=_check_ratio, explain=_explain_ratio
)
