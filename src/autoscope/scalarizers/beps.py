r"""The 9-parameter BEPS loop function, its robust least-squares fit and ``beps_fit``.

Each branch of a piezoresponse loop is modelled (Jesse et al. 2006; the
"loop fit function" of band-excitation PFM analysis) as a saturating step whose
width may differ on either side of the switching bias:

.. math::

    R_\pm(V) = a_0 + a_1\, y(V; c_\pm, w_l, w_r) + a_4 V, \qquad
    y(V; c, w_l, w_r) = \frac{g\, \mathrm{erf}\!\left(\frac{V - c}{g}\right) + w_l}{w_l + w_r},
    \quad g = \begin{cases} w_l & V < c \\ w_r & V \ge c \end{cases}

with ``c_+ = a_2, (w_l, w_r) = (b_0, b_1)`` on the increasing-bias branch and
``c_- = a_3, (w_l, w_r) = (b_2, b_3)`` on the decreasing one. ``y`` runs from 0
(``V ≪ c``) to 1 (``V ≫ c``), so ``a_0`` is the low saturation response, ``a_1``
the loop height (negative for an inverted loop), ``a_2``/``a_3`` the switching
biases (V), ``b_0..b_3`` the switching widths (V) and ``a_4`` a linear
(electrostatic) slope (response/V).

Fit. The loop is despiked (:func:`autoscope.scalarizers.despike.hampel`),
normalised to unit peak-to-peak range, and fitted with
:func:`scipy.optimize.least_squares` (trust-region reflective, bounds
``a_2, a_3 ∈ [V_min, V_max]``, ``b_i ∈ [10^{-3}, 1] × (V_max - V_min)``,
``|a_0|, |a_1| ≤ 10``, soft-L1 loss with scale 0.05 so that residual spikes
do not dominate). The initial guess is our own: saturation levels from the
mean response in the outer 20 % of the bias range, switching biases from the
branch zero crossings (:func:`autoscope.scalarizers.loops.coercive_field`),
widths 5 % of the range; if the fit explains < 90 % of the variance, further
starts (wider widths, the opposite loop orientation) are tried and the best
kept. A fit is *failed* (all coefficients NaN, with the reason) when the loop
holds non-finite values or is flat, when the optimiser raises or does not
converge, or when ``R² < min_r2`` (default 0.5: a near-flat, noise-only
loop has no meaningful switching biases). Fits hold no shared state, so they are safe
to run in parallel processes or threads.

References
----------
S. Jesse, A. P. Baddorf, S. V. Kalinin, "Switching spectroscopy piezoresponse
force microscopy of ferroelectric materials", Appl. Phys. Lett. 88, 062908 (2006).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.special import erf

from autoscope.scalarizers._checks import check_choice, check_number
from autoscope.scalarizers._registry import register
from autoscope.scalarizers.despike import check_despike, hampel
from autoscope.scalarizers.loops import _branch_crossing, _is_closed, branches

__all__ = ["COEFFICIENTS", "LoopFit", "beps_coefficients", "beps_fit", "beps_loop", "fit_loop"]

#: names of the 9 loop-function coefficients, in vector order
COEFFICIENTS = ("a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3")
_OUTPUTS = (*COEFFICIENTS, "r2")
_LOSS_SCALE = 0.05  # soft-L1 scale, in units of the loop's peak-to-peak range
_GOOD_R2 = 0.9  # below this the fit tries more starts


@dataclass(frozen=True)
class LoopFit:
    """Result of :func:`fit_loop`.

    Attributes
    ----------
    coefficients : dict of str to float
        ``a0``..``a4``, ``b0``..``b3`` in data units (response, V); NaN if the fit failed.
    r2 : float
        Coefficient of determination on the despiked loop (kept when the fit
        failed only because ``R² < min_r2``; NaN for other failures).
    success : bool
        Whether the fit was accepted.
    reason : str or None
        Why the fit failed (``None`` on success).
    """

    coefficients: dict[str, float] = field(default_factory=dict)
    r2: float = float("nan")
    success: bool = False
    reason: str | None = None


def _direction(axis: np.ndarray) -> np.ndarray:
    """Return True where the waveform segment leaving a point increases the bias."""
    d = np.diff(axis)
    if _is_closed(axis):
        d = np.append(d, axis[0] - axis[-1])
    else:
        d = np.append(d, d[-1])
    return d > 0


def _step(v: np.ndarray, c: float, wl: float, wr: float) -> np.ndarray:
    g = np.where(v < c, wl, wr)
    return (g * erf((v - c) / g) + wl) / (wl + wr)


def _model(p: np.ndarray, v: np.ndarray, inc: np.ndarray) -> np.ndarray:
    a0, a1, a2, a3, a4, b0, b1, b2, b3 = p
    y = np.where(inc, _step(v, a2, b0, b1), _step(v, a3, b2, b3))
    return a0 + a1 * y + a4 * v


def _step_grad(v: np.ndarray, c: float, wl: float, wr: float):
    """``y`` and its derivatives with respect to ``c``, ``wl``, ``wr``."""
    left = v < c
    g = np.where(left, wl, wr)
    u = (v - c) / g
    e = erf(u)
    k = 2.0 / np.sqrt(np.pi) * np.exp(-u * u)
    s = wl + wr
    y = (g * e + wl) / s
    dc = -k / s
    dg = (e - k * u) / s  # d(g erf((v - c) / g)) / dg, divided by s
    dwl = np.where(left, dg + 1.0 / s, 1.0 / s) - y / s
    dwr = np.where(left, 0.0, dg) - y / s
    return y, dc, dwl, dwr


def _jac(p: np.ndarray, v: np.ndarray, inc: np.ndarray) -> np.ndarray:
    a1 = p[1]
    yu, cu, lu, ru = _step_grad(v, p[2], p[5], p[6])
    yd, cd, ld, rd = _step_grad(v, p[3], p[7], p[8])
    zero = np.zeros_like(v)
    cols = [
        np.ones_like(v),
        np.where(inc, yu, yd),
        np.where(inc, a1 * cu, zero),
        np.where(inc, zero, a1 * cd),
        v,
        np.where(inc, a1 * lu, zero),
        np.where(inc, a1 * ru, zero),
        np.where(inc, zero, a1 * ld),
        np.where(inc, zero, a1 * rd),
    ]
    return np.stack(cols, axis=1)


def beps_loop(axis: np.ndarray, coefficients: Mapping[str, float] | np.ndarray) -> np.ndarray:
    """Evaluate the 9-parameter loop function along a bias waveform.

    Parameters
    ----------
    axis : ndarray, shape (L,)
        Bias waveform (V); each point uses the branch of the segment leaving it.
    coefficients : mapping or ndarray, shape (9,)
        ``a0..a4, b0..b3`` (see the module docstring).

    Returns
    -------
    ndarray, shape (L,)
        Response (units of ``a0``, ``a1``).
    """
    axis = np.asarray(axis, dtype=float)
    if isinstance(coefficients, Mapping):
        p = np.array([float(coefficients[k]) for k in COEFFICIENTS])
    else:
        p = np.asarray(coefficients, dtype=float)
    return _model(p, axis, _direction(axis))


def _failed(reason: str) -> LoopFit:
    return LoopFit({k: float("nan") for k in COEFFICIENTS}, float("nan"), False, reason)


def _guesses(v, r, inc, up, down):
    vmin, vmax = float(v.min()), float(v.max())
    span = vmax - vmin
    lo = float(np.mean(r[v <= vmin + 0.2 * span]))
    hi = float(np.mean(r[v >= vmax - 0.2 * span]))
    level = 0.5 * (r.max() + r.min())
    vc = []
    for idx, default in ((up, vmin + 0.75 * span), (down, vmin + 0.25 * span)):
        c = float(_branch_crossing(v[idx], (r[idx] - level)[None])[0])
        vc.append(c if np.isfinite(c) else default)
    a1 = hi - lo if abs(hi - lo) > 0.1 else (1.0 if r[inc].mean() < r[~inc].mean() else -1.0)
    a0 = lo if abs(hi - lo) > 0.1 else level - a1 / 2
    first = [a0, a1, vc[0], vc[1], 0.0] + [0.05 * span] * 4
    wide = [a0, a1, vc[0], vc[1], 0.0] + [0.2 * span] * 4
    flipped = [a0 + a1, -a1, vc[1], vc[0], 0.0] + [0.1 * span] * 4
    return [first, wide, flipped]


def fit_loop(
    spectrum: np.ndarray,
    axis: np.ndarray,
    despike: int = 9,
    spike_threshold: float = 4.0,
    min_r2: float = 0.5,
) -> LoopFit:
    """Fit the 9-parameter loop function to one loop (see the module docstring).

    Parameters
    ----------
    spectrum : ndarray, shape (L,)
        Response along the waveform (any units).
    axis : ndarray, shape (L,)
        Bias waveform (V) with both sweep directions.
    despike, spike_threshold : int, float
        Hampel window (0 = off) and threshold, see :mod:`autoscope.scalarizers.despike`.
    min_r2 : float
        Fits with a lower coefficient of determination count as failed
        (coefficients NaN; ``r2`` is still reported).

    Returns
    -------
    LoopFit
        Never raises for bad data; only for an axis without both sweep directions.
    """
    v = np.asarray(axis, dtype=float)
    y = np.asarray(spectrum, dtype=float)
    up, down = branches(v)
    if not np.all(np.isfinite(y)):
        return _failed("loop holds non-finite values")
    r = hampel(y, despike, spike_threshold, cyclic=_is_closed(v))
    scale = float(np.ptp(r))
    if scale == 0.0:
        return _failed("loop is flat (zero peak-to-peak range)")
    centre = float(np.median(r))
    rn = (r - centre) / scale
    inc = _direction(v)
    vmin, vmax = float(v.min()), float(v.max())
    span = vmax - vmin
    lb = [-10.0, -10.0, vmin, vmin, -10.0 / span] + [1e-3 * span] * 4
    ub = [10.0, 10.0, vmax, vmax, 10.0 / span] + [span] * 4
    sst = float(np.sum((rn - rn.mean()) ** 2))
    best, best_cost, why = None, np.inf, "no start converged"
    for p0 in _guesses(v, rn, inc, up, down):
        p0 = np.clip(p0, lb, ub)
        try:
            res = least_squares(
                lambda p: _model(p, v, inc) - rn,
                p0,
                jac=lambda p: _jac(p, v, inc),
                bounds=(lb, ub),
                method="trf",
                loss="soft_l1",
                f_scale=_LOSS_SCALE,
                max_nfev=100,
            )
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            why = f"optimiser raised {type(exc).__name__}: {exc}"
            continue
        # status 0 (evaluation budget spent) keeps the best point so far; R^2 judges it
        if res.status < 0 or not np.all(np.isfinite(res.x)):
            why = f"optimiser failed ({res.message})"
            continue
        if res.cost < best_cost:
            best, best_cost = res.x, res.cost
        if best is None:  # a non-finite cost never becomes the best point
            why = f"optimiser returned a non-finite cost ({res.cost})"
            continue
        r2 = 1.0 - float(np.sum((_model(best, v, inc) - rn) ** 2)) / sst
        if r2 >= _GOOD_R2:
            break
    if best is None:
        return _failed(why)
    r2 = 1.0 - float(np.sum((_model(best, v, inc) - rn) ** 2)) / sst
    if not r2 >= min_r2:
        poor = _failed(f"poor fit: R^2 = {r2:.3g} < min_r2 = {min_r2}")
        return LoopFit(poor.coefficients, r2, False, poor.reason)
    p = np.array(best, dtype=float)
    p[0] = centre + scale * p[0]
    p[1] *= scale
    p[4] *= scale
    return LoopFit(dict(zip(COEFFICIENTS, map(float, p), strict=True)), r2, True, None)


def beps_coefficients(
    spectrum: np.ndarray,
    axis: np.ndarray,
    despike: int = 9,
    spike_threshold: float = 4.0,
    min_r2: float = 0.5,
) -> dict[str, float]:
    """All 9 loop-function coefficients and ``r2`` of one loop (NaN when the fit failed).

    Returns
    -------
    dict of str to float
        Keys ``a0..a4``, ``b0..b3`` (data units) and ``r2``.
    """
    fit = fit_loop(spectrum, axis, despike, spike_threshold, min_r2)
    return {**fit.coefficients, "r2": fit.r2}


def _check_beps(axis, coefficient="a2", despike=9, spike_threshold=4.0, min_r2=0.5) -> None:
    check_choice("coefficient", coefficient, _OUTPUTS)
    check_despike(despike, spike_threshold)
    check_number("min_r2", min_r2)
    if axis is not None:
        branches(axis)


def beps_fit(spectrum, axis, coefficient="a2", despike=9, spike_threshold=4.0, min_r2=0.5) -> float:
    r"""One coefficient of the 9-parameter BEPS loop-function fit.

    ``coefficient`` is one of ``a0`` (low saturation, response units), ``a1``
    (loop height, response units), ``a2``/``a3`` (switching bias of the
    increasing/decreasing branch, V), ``a4`` (slope, response/V), ``b0..b3``
    (switching widths, V) or ``r2`` (fit quality, dimensionless). Model and fit:
    see :mod:`autoscope.scalarizers.beps`. NaN when the fit failed.
    """
    return beps_coefficients(spectrum, axis, despike, spike_threshold, min_r2)[coefficient]


def _explain_beps(spectrum, axis, coefficient="a2", despike=9, spike_threshold=4.0, min_r2=0.5):
    return fit_loop(spectrum, axis, despike, spike_threshold, min_r2).reason


register("beps_fit", beps_fit, check=_check_beps, explain=_explain_beps)
