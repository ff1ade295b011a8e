r"""Hysteresis-loop scalarizers: area, height, coercive fields, imprint and remanence.

A loop is a response ``R`` (e.g. piezoresponse, a.u.) measured along a bias
waveform ``V`` (the axis, volts), typically the triangle 0 → +Vmax → −Vmax → 0
of the shared PbTiO3 BEPS data. The axis is the bias *at each point*, so it is
non-monotonic and may start anywhere in the cycle. Conventions:

* **Branches.** A point belongs to the *increasing* (forward) branch if a
  waveform segment next to it has ``ΔV > 0`` and to the *decreasing* branch if
  one has ``ΔV < 0`` (turning points belong to both). If the last point is
  within 1.5 steps of the first, the waveform is closed and the wrap-around
  segment counts too. Each branch is sorted by ``V``.
* **Despiking.** Every loop scalarizer first applies
  :func:`autoscope.scalarizers.despike.hampel` (``despike`` = window in points,
  default 9, 0 to switch off; ``spike_threshold`` = k, default 4 robust σ).
* **Offset.** ``offset="mid"`` subtracts the vertical loop offset
  ``R_off = (max R + min R) / 2`` before zero crossings are sought;
  ``offset="none"`` uses ``R = 0`` as the level.
* **NaN policy.** Non-finite values in a loop, or a branch that never crosses
  the offset level, give NaN; :meth:`Scalarizer.explain
  <autoscope.scalarizers.Scalarizer.explain>` returns the reason. An axis
  without both sweep directions (or a branch that does not reach ``V = 0``,
  for ``remanence``) is bad input and raises ``ValueError``.

All functions are vectorised (whole grids in one numpy pass).
"""

from __future__ import annotations

import numpy as np

from autoscope.errors import InputDataError
from autoscope.scalarizers._checks import check_choice, first_reason, reason_array, split_finite
from autoscope.scalarizers._registry import register
from autoscope.scalarizers.despike import check_despike, hampel

__all__ = [
    "branches",
    "coercive_field",
    "imprint",
    "loop_area",
    "loop_height",
    "remanence",
]

COERCIVE = ("positive", "negative", "width")
REMANENCE = ("positive", "negative", "difference")
OFFSETS = ("mid", "none")


def _is_closed(axis: np.ndarray) -> bool:
    step = np.max(np.abs(np.diff(axis)))
    return axis.size > 2 and abs(axis[0] - axis[-1]) <= 1.5 * step


def branches(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the increasing- and decreasing-bias branches as indices sorted by bias.

    Parameters
    ----------
    axis : ndarray, shape (L,)
        Bias waveform (V).

    Returns
    -------
    up, down : ndarray of int
        Point indices of each branch, ordered by increasing bias.

    Raises
    ------
    ValueError
        If the waveform lacks one sweep direction (a branch has < 2 points).

    Examples
    --------
    >>> import numpy as np
    >>> up, down = branches(np.array([0.0, 1.0, 2.0, 1.0, 0.0, -1.0, -2.0, -1.0]))
    >>> up.tolist(), down.tolist()
    ([6, 7, 0, 1, 2], [6, 5, 4, 3, 2])
    """
    axis = np.asarray(axis, dtype=float)
    d = np.diff(axis)
    if _is_closed(axis):
        d = np.append(d, axis[0] - axis[-1])
        prev = np.roll(d, 1)
    else:
        prev = np.concatenate([[0.0], d])
        d = np.append(d, 0.0)
    out = []
    for sign, label in ((1.0, "increasing"), (-1.0, "decreasing")):
        idx = np.nonzero((sign * d > 0) | (sign * prev > 0))[0]
        if idx.size < 2:
            raise InputDataError(
                f"loop scalarizers need a bias waveform with both sweep directions; "
                f"the axis has {idx.size} point(s) on the {label}-bias branch"
            )
        out.append(idx[np.argsort(axis[idx], kind="stable")])
    return out[0], out[1]


def _check_loop(axis, despike=9, spike_threshold=4.0) -> None:
    check_despike(despike, spike_threshold)
    if axis is not None:
        branches(axis)


def _prepare(spectra, axis, despike, spike_threshold):
    safe, bad = split_finite(spectra)
    clean = hampel(safe, despike, spike_threshold, cyclic=_is_closed(axis))
    reasons = reason_array(spectra.shape[0])
    reasons[bad] = "loop holds non-finite values"
    clean[bad] = np.nan  # one bad point makes the whole loop undefined
    return clean, reasons


# -- area and height -----------------------------------------------------------------------
def _vloop_area(spectra, axis, despike=9, spike_threshold=4.0, *, reasons=False):
    r, why = _prepare(spectra, axis, despike, spike_threshold)
    v = axis
    cross = v[None, :] * np.roll(r, -1, axis=1) - np.roll(v, -1)[None, :] * r
    area = 0.5 * np.abs(cross.sum(axis=1))
    return (area, why) if reasons else area


def loop_area(spectrum, axis, despike=9, spike_threshold=4.0) -> float:
    r"""Area enclosed by the loop, by the shoelace formula over the closed path.

    .. math:: A = \left|\oint R\,dV\right|
              = \tfrac12 \left|\sum_i (V_i R_{i+1} - V_{i+1} R_i)\right|

    (indices cyclic: the path is closed from the last point back to the first).
    Units: response units × V. A waveform with several cycles gives the sum of
    their areas.
    """
    return float(_vloop_area(spectrum[None], axis, despike, spike_threshold)[0])


def _vloop_height(spectra, axis, despike=9, spike_threshold=4.0, *, reasons=False):
    r, why = _prepare(spectra, axis, despike, spike_threshold)
    h = r.max(axis=1) - r.min(axis=1)
    return (h, why) if reasons else h


def loop_height(spectrum, axis, despike=9, spike_threshold=4.0) -> float:
    r"""Peak-to-peak response of the despiked loop.

    .. math:: H = \max_i R_i - \min_i R_i

    Units: response units.
    """
    return float(_vloop_height(spectrum[None], axis, despike, spike_threshold)[0])


# -- coercive fields and imprint -----------------------------------------------------------
def _branch_crossing(v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Bias where each row of ``s`` (n, m) changes sign, picking the most step-like crossing."""
    n, m = s.shape
    a, b = s[:, :-1], s[:, 1:]
    cross = (a > 0) != (b > 0)
    cs = np.cumsum(s, axis=1)
    nl = np.arange(1, m)
    nr = m - nl
    step = np.abs(cs[:, :-1] / nl - (cs[:, -1:] - cs[:, :-1]) / nr) * np.sqrt(nl * nr / m)
    score = np.where(cross, step, -np.inf)
    j = np.argmax(score, axis=1)
    rows = np.arange(n)
    aj, bj = a[rows, j], b[rows, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = aj / (aj - bj)
    vc = v[j] + t * (v[j + 1] - v[j])
    return np.where(cross.any(axis=1), vc, np.nan)


def _coercive_pair(spectra, axis, despike, spike_threshold, offset, need=("up", "down")):
    r, why = _prepare(spectra, axis, despike, spike_threshold)
    level = 0.5 * (r.max(axis=1) + r.min(axis=1)) if offset == "mid" else np.zeros(len(r))
    up, down = branches(axis)
    out = []
    for idx, key, label in ((up, "up", "increasing"), (down, "down", "decreasing")):
        vc = _branch_crossing(axis[idx], r[:, idx] - level[:, None])
        if key in need:
            why[~np.isfinite(vc) & (why == "")] = (
                f"the {label}-bias branch never crosses the offset level"
            )
        out.append(vc)
    return out[0], out[1], why


def _check_coercive(axis, which="positive", despike=9, spike_threshold=4.0, offset="mid"):
    check_choice("which", which, COERCIVE)
    check_choice("offset", offset, OFFSETS)
    _check_loop(axis, despike, spike_threshold)


def _vcoercive(
    spectra, axis, which="positive", despike=9, spike_threshold=4.0, offset="mid", *, reasons=False
):
    need = {"positive": ("up",), "negative": ("down",), "width": ("up", "down")}[which]
    vp, vn, why = _coercive_pair(spectra, axis, despike, spike_threshold, offset, need)
    val = {"positive": vp, "negative": vn, "width": vp - vn}[which]
    return (val, why) if reasons else val


def coercive_field(
    spectrum, axis, which="positive", despike=9, spike_threshold=4.0, offset="mid"
) -> float:
    r"""Coercive biases from the zero crossings of each branch.

    ``V_c^+`` is where the increasing-bias branch crosses the offset level
    ``R_off`` (linear interpolation between the two points around the sign
    change; if noise makes several crossings, the one splitting the branch into
    the most different halves, ``|\bar s_{left} - \bar s_{right}|
    \sqrt{n_l n_r / n}``, is taken), ``V_c^-`` the same on the decreasing
    branch. ``which="positive"`` → ``V_c^+``, ``"negative"`` → ``V_c^-``,
    ``"width"`` → ``V_c^+ - V_c^-``. Units: V.
    """
    return float(_vcoercive(spectrum[None], axis, which, despike, spike_threshold, offset)[0])


def _vimprint(spectra, axis, despike=9, spike_threshold=4.0, offset="mid", *, reasons=False):
    vp, vn, why = _coercive_pair(spectra, axis, despike, spike_threshold, offset)
    val = 0.5 * (vp + vn)
    return (val, why) if reasons else val


def imprint(spectrum, axis, despike=9, spike_threshold=4.0, offset="mid") -> float:
    r"""Imprint (built-in bias): the centre of the two coercive biases.

    .. math:: V_{imp} = \tfrac12 (V_c^+ + V_c^-)

    Units: V. See :func:`coercive_field` for how ``V_c^\pm`` are found.
    """
    return float(_vimprint(spectrum[None], axis, despike, spike_threshold, offset)[0])


def _check_imprint(axis, despike=9, spike_threshold=4.0, offset="mid"):
    check_choice("offset", offset, OFFSETS)
    _check_loop(axis, despike, spike_threshold)


# -- remanence -------------------------------------------------------------------------------
def _zero_weights(v: np.ndarray, label: str) -> tuple[int, float]:
    if not v[0] <= 0.0 <= v[-1]:
        raise InputDataError(
            f"remanence needs the {label}-bias branch to span V = 0, it spans [{v[0]}, {v[-1]}]"
        )
    j = int(np.clip(np.searchsorted(v, 0.0, side="right") - 1, 0, v.size - 2))
    t = 0.0 if v[j + 1] == v[j] else (0.0 - v[j]) / (v[j + 1] - v[j])
    return j, float(t)


def _check_remanence(axis, which="positive", despike=9, spike_threshold=4.0):
    check_choice("which", which, REMANENCE)
    _check_loop(axis, despike, spike_threshold)
    if axis is not None:
        up, down = branches(axis)
        _zero_weights(axis[up], "increasing")
        _zero_weights(axis[down], "decreasing")


def _vremanence(spectra, axis, which="positive", despike=9, spike_threshold=4.0, *, reasons=False):
    r, why = _prepare(spectra, axis, despike, spike_threshold)
    up, down = branches(axis)
    vals = []
    for idx, label in ((down, "decreasing"), (up, "increasing")):
        j, t = _zero_weights(axis[idx], label)
        rb = r[:, idx]
        vals.append((1.0 - t) * rb[:, j] + t * rb[:, j + 1])
    pos, neg = vals
    val = {"positive": pos, "negative": neg, "difference": pos - neg}[which]
    return (val, why) if reasons else val


def remanence(spectrum, axis, which="positive", despike=9, spike_threshold=4.0) -> float:
    r"""Remanent response: the loop at zero bias on each branch.

    ``R_r^+ = R_{dec}(V=0)`` on the decreasing-bias branch (after poling at
    +Vmax), ``R_r^- = R_{inc}(V=0)`` on the increasing branch (after −Vmax),
    linearly interpolated. ``which="positive"`` → ``R_r^+``, ``"negative"`` →
    ``R_r^-``, ``"difference"`` → ``R_r^+ - R_r^-`` (independent of a vertical
    offset). Units: response units.
    """
    return float(_vremanence(spectrum[None], axis, which, despike, spike_threshold)[0])


# -- registration ----------------------------------------------------------------------------
def _explainer(vfunc):
    def explain(spectrum, axis, **params):
        return first_reason(vfunc(spectrum[None], axis, **params, reasons=True)[1])

    return explain


register(
    "loop_area",
    loop_area,
    vectorized=_vloop_area,
    check=_check_loop,
    explain=_explainer(_vloop_area),
)
register(
    "loop_height",
    loop_height,
    vectorized=_vloop_height,
    check=_check_loop,
    explain=_explainer(_vloop_height),
)
register(
    "coercive_field",
    coercive_field,
    vectorized=_vcoercive,
    check=_check_coercive,
    explain=_explainer(_vcoercive),
)
register(
    "imprint", imprint, vectorized=_vimprint, check=_check_imprint, explain=_explainer(_vimprint)
)
register(
    "remanence",
    remanence,
    vectorized=_vremanence,
    check=_check_remanence,
    explain=_explainer(_vremanence),
)
