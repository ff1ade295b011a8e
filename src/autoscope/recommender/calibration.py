r"""Prequential variance calibration: widen the posterior by how badly it forecast new points.

Before each measurement the model forecasts the chosen candidate: mean :math:`\mu_t` and
predictive variance :math:`v_t = \sigma_t^2 + \sigma_n^2` (latent variance plus noise).
When the value :math:`y_t` arrives, :math:`z_t^2 = (y_t - \mu_t)^2 / v_t` is an honest,
out-of-sample check of the model (the point was not in its training data, unlike a
leave-one-out score of a deep kernel whose embedding saw every point). With ``mode="prequential"``
the posterior variance (and the noise) handed to the policy and returned by ``predict`` is
multiplied by

.. math:: c = \max\Big(1,\ \frac{1}{|W|}\sum_{t \in W} z_t^2\Big)

over the last ``window`` scored forecasts ``W`` (at least ``min_forecasts``; ``c = 1``
before). A calibrated model has :math:`E[z^2] = 1`; an over-confident one is widened, so
its intervals cover more of the truth and an acquisition that trades mean against
uncertainty explores more. The mean is never changed and the variance never narrowed.
This is variance (temperature) scaling for regression (Levi et al., Sensors 22, 5540,
2022; Kuleshov et al., ICML 2018) estimated prequentially (Dawid, JRSS A 147, 1984).

The forecasts are the model's own, so a replay that refits the same models recomputes
the same factors. Changing the targets (``DKLRecommender.replace_values``) or the model
starts the record afresh.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from autoscope._validate import check_int
from autoscope.errors import InputDataError

if TYPE_CHECKING:  # no torch import for the plans that only validate the mode
    from autoscope.models import CandidatePosterior

__all__ = ["CALIBRATION_MODES", "ForecastCalibration"]

CALIBRATION_MODES = ("none", "prequential", "reported")


class ForecastCalibration:
    """Record forecasts, score them when values arrive, scale posteriors.

    Parameters
    ----------
    mode : {"none", "prequential", "reported"}
        ``"prequential"`` scales every posterior it is given; ``"reported"`` scales what
        is reported (:meth:`apply`) but hands the policy the model's own posterior
        (:meth:`for_policy`), so decisions are those of ``"none"``.
    window : int
        Number of most recent scored forecasts averaged.
    min_forecasts : int
        Scored forecasts needed before the factor departs from 1.

    Examples
    --------
    >>> import numpy as np
    >>> from autoscope.recommender.calibration import ForecastCalibration
    >>> cal = ForecastCalibration("prequential", window=10, min_forecasts=2)
    >>> cal.forecast(3, mean=0.0, variance=1.0)
    >>> cal.forecast(4, mean=0.0, variance=1.0)
    >>> cal.observe(np.array([3, 4]), np.array([2.0, 2.0]))
    >>> cal.factor
    4.0
    """

    def __init__(self, mode: str = "none", *, window: int = 25, min_forecasts: int = 5):
        if mode not in CALIBRATION_MODES:
            raise InputDataError(f"calibration must be one of {CALIBRATION_MODES}, got {mode!r}")
        self.mode = mode
        self.window = check_int("calibration_window", window, 1)
        self.min_forecasts = check_int("min_forecasts", min_forecasts, 1)
        self._pending: dict[int, tuple[float, float]] = {}
        self.z2: list[float] = []

    @property
    def factor(self) -> float:
        """The variance factor ``c`` (1 when off or with too few scored forecasts)."""
        recent = self.z2[-self.window :]
        if self.mode == "none" or len(recent) < self.min_forecasts:
            return 1.0
        return max(1.0, float(np.mean(recent)))

    def forecast(self, cid: int, *, mean: float, variance: float) -> None:
        """Record the model's forecast (mean, predictive variance) for candidate ``cid``."""
        if math.isfinite(mean) and math.isfinite(variance) and variance > 0:
            self._pending[int(cid)] = (float(mean), float(variance))

    def forecast_posterior(self, ids: Sequence[int], post: CandidatePosterior) -> None:
        """Record the forecasts of an (uncalibrated) posterior at the chosen ``ids``."""
        for i in ids:
            self.forecast(i, mean=float(post.mean[i]), variance=float(post.var[i]) + post.noise)

    def observe(self, ids: np.ndarray, y: np.ndarray) -> None:
        """Score every recorded forecast whose candidate now has a value."""
        if not self._pending:
            return
        for i, v in zip(ids.tolist(), y.tolist(), strict=True):
            f = self._pending.pop(int(i), None)
            if f is not None:
                self.z2.append((v - f[0]) ** 2 / f[1])

    def reset(self) -> None:
        """Forget every forecast and score (new targets or a new model)."""
        self._pending.clear()
        self.z2.clear()

    def for_policy(self, post: CandidatePosterior) -> CandidatePosterior:
        """Return the posterior the acquisition sees: scaled only in ``"prequential"`` mode."""
        return self.apply(post) if self.mode == "prequential" else post

    def apply(self, post: CandidatePosterior) -> CandidatePosterior:
        """Return ``post`` with its variances (latent, noise, joint) scaled by :attr:`factor`."""
        c = self.factor
        if c == 1.0:
            return post
        return post.widened(c)
