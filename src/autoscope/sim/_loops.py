r"""Ferroelectric hysteresis loops: Landau-Khalatnikov dynamics under a BEPS bias waveform.

The DC waveform of band-excitation piezoresponse spectroscopy (:func:`triangle_bias`)
and the loops it traces in a ferroelectric whose polarisation relaxes in a double-well
free energy (:func:`landau_khalatnikov_loops`), vectorised over pixels; used by
:class:`~autoscope.sim.spm.SPMSample` and re-exported from :mod:`autoscope.sim.spm`.

Examples
--------
>>> from autoscope.sim.spm import landau_khalatnikov_loops, triangle_bias
>>> v = triangle_bias(8, 1.0)
>>> v.tolist()
[0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5]
>>> landau_khalatnikov_loops(v, [0.5], [0.0], [2.0]).shape
(1, 8)
"""

from __future__ import annotations

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["landau_khalatnikov_loops", "triangle_bias"]

_LK_GAIN = 2.0 / (3.0 * np.sqrt(3.0))


def triangle_bias(n_points: int = 64, v_max: float = 8.5) -> np.ndarray:
    """Return the BEPS DC waveform 0 → +v_max → −v_max → 0 sampled at ``n_points`` steps.

    ``V_k = v_max * tri(k / n_points)`` with ``tri`` rising 0 → 1 on the first
    quarter, falling 1 → −1 on the middle half and rising −1 → 0 on the last
    quarter (the final 0 is not repeated), as in ``BEPS_PTO_50x50.h5``.

    Returns
    -------
    ndarray, shape (n_points,)
        Bias, V (non-monotonic).

    Raises
    ------
    InputDataError
        If ``n_points`` is not a multiple of 4 that is >= 8.
    """
    if int(n_points) != n_points or n_points < 8 or n_points % 4:
        raise InputDataError(f"n_points must be a multiple of 4 >= 8, got {n_points!r}")
    t = np.arange(int(n_points)) / n_points
    return float(v_max) * np.where(t < 0.25, 4 * t, np.where(t < 0.75, 2 - 4 * t, 4 * t - 4))


def landau_khalatnikov_loops(
    bias: np.ndarray,
    coercive: np.ndarray,
    imprint: np.ndarray,
    remanence: np.ndarray,
    relax_steps: int = 16,
) -> np.ndarray:
    r"""Piezoresponse loops of the Landau-Khalatnikov model, vectorised over pixels.

    In reduced units :math:`p = P/R`, :math:`\tau = \Gamma|\alpha| t`, the
    equation :math:`\dot P = -\Gamma(\alpha P + \beta P^3 - (V - E_{imp}))` reads
    :math:`dp/d\tau = p - p^3 + e`, :math:`e = \tfrac{2}{3\sqrt3}(V - E_{imp})/E_c`.
    Each bias step is held for ``relax_steps`` backward-Euler steps of
    :math:`\Delta\tau = 1`, i.e. :math:`p \leftarrow \sqrt[3]{p + e}`: stable,
    its fixed points are the equilibria, and a branch disappears exactly at
    :math:`V = E_{imp} \pm E_c`. The loop returned is the second of two
    identical cycles started at :math:`p = -1` (the steady state).

    Parameters
    ----------
    bias : ndarray, shape (L,)
        DC bias at each step, V.
    coercive, imprint, remanence : ndarray, shape (n,)
        :math:`E_c` (V, > 0), :math:`E_{imp}` (V), :math:`R` (a.u.) per pixel.
    relax_steps : int
        Relaxation steps per bias step.

    Returns
    -------
    ndarray, shape (n, L)
        Piezoresponse :math:`R\,p`, a.u.
    """
    ec = np.asarray(coercive, dtype=float).reshape(-1, 1)
    e = _LK_GAIN * (np.asarray(bias, float)[None, :] - np.asarray(imprint, float).reshape(-1, 1))
    e /= ec
    et = np.ascontiguousarray(e.T)
    p = -np.ones(ec.shape[0])
    out = np.empty_like(et)
    for _ in range(2):
        for k in range(et.shape[0]):
            for _ in range(int(relax_steps)):
                p = np.cbrt(p + et[k])
            out[k] = p
    return out.T * np.asarray(remanence, dtype=float).reshape(-1, 1)
