r"""BOARS: a person votes on measured spectra, the target spectrum evolves, the model takes over.

Bayesian optimized active recommender system (Biswas et al.): after each measured
spectrum (or every ``k``-th) a voter says 0 (bad), 1 (neutral) or 2 (good). The
*target* is the vote-weighted running mean of the voted spectra, and the
scalarizer of the run becomes the similarity to that target
(``{"name": "similarity", "params": {"target": T, "metric": ...}}``,
:mod:`autoscope.scalarizers.similarity`), so the DKL model learns "how much does
this pixel's spectrum look like what the person likes".

.. math::

    T_t = \frac{\sum_{i \le t} \omega_i\, s_i}{\sum_{i \le t} \omega_i}, \qquad
    \omega_i = v_i\, \lambda(t_i), \qquad
    \lambda(t) = \exp(-t / \tau)

with :math:`s_i` the voted spectrum (optionally normalised), :math:`v_i \in \{0, 1, 2\}`
its vote, :math:`t_i` its measurement index (0-based step) and :math:`\tau` the
decay constant (measurements). The human's weight :math:`\lambda` decays: a vote
at step :math:`\tau` moves the target ``1/e`` as much as a seed vote, and once
:math:`\lambda(t) <` ``min_weight`` (at :math:`t > \tau \ln(1/\text{min\_weight})`,
≈ 3τ for 0.05) the voter is no longer asked and the target stays: from then on
the model drives alone. A bad vote (0) adds nothing to the target. Until the
first non-zero vote there is no target and the run keeps its own scalarizer.

References
----------
A. Biswas, Y. Liu, N. Creange, Y.-C. Liu, S. Jesse, J.-C. Yang, S. V. Kalinin,
M. A. Ziatdinov, R. K. Vasudevan, "A dynamic Bayesian optimized active recommender
system for curiosity-driven partially human-in-the-loop automated experiments",
npj Comput. Mater. 10, 29 (2024).

Examples
--------
>>> import numpy as np
>>> from autoscope.steering.boars import BOARS
>>> axis = np.linspace(0, 1, 5)
>>> b = BOARS(lambda s, a, info: 2 if s[0] > 0 else 0, tau=10.0)
>>> b.offer(np.array([1.0, 0, 0, 0, 0]), axis, step=0)["vote"]
2
>>> b.offer(np.array([-1.0, 0, 0, 0, 0]), axis, step=1)["vote"]
0
>>> b.target.tolist()
[1.0, 0.0, 0.0, 0.0, 0.0]
>>> b.scalarizer_spec()["name"]
'similarity'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["BOARS", "VOTES", "check_vote"]

#: vote values: bad, neutral, good
VOTES = (0, 1, 2)
_NORMALIZE = (None, "max", "l2")


def check_vote(vote: Any) -> int | None:
    """Return a vote as an int in :data:`VOTES` (``None``: no vote) or raise ``InputDataError``."""
    if vote is None:
        return None
    if isinstance(vote, bool) or not isinstance(vote, int | np.integer) or int(vote) not in VOTES:
        raise InputDataError(f"a vote is 0 (bad), 1 (neutral), 2 (good) or None, got {vote!r}")
    return int(vote)


class BOARS:
    r"""Votes, the evolving target and the human weight (see the module docstring).

    Parameters
    ----------
    voter : callable
        ``voter(spectrum, axis, info) -> 0 | 1 | 2 | None`` (see
        :mod:`autoscope.steering.voters`); ``info`` holds ``step``,
        ``candidate_id``, ``row``, ``col``, ``target`` and ``human_weight``.
    every : int
        Ask for every ``every``-th offered spectrum.
    tau : float
        Decay constant :math:`\tau` of the human weight, in measurements (> 0).
    min_weight : float
        Stop asking once :math:`\lambda(t)` falls below it (0 <= min_weight < 1).
    metric : {"cosine", "neg_mse", "ssim"}
        Similarity metric of the scalarizer.
    normalize : {None, "max", "l2"}
        Scale each voted spectrum by its max ``|s|`` or L2 norm before averaging.
    who : str
        Recorded as the author of the votes and target changes.
    """

    def __init__(
        self,
        voter: Callable[..., Any],
        *,
        every: int = 1,
        tau: float = 30.0,
        min_weight: float = 0.05,
        metric: str = "cosine",
        normalize: str | None = None,
        who: str = "boars",
    ):
        if not callable(voter):
            raise InputDataError(f"voter must be callable, got {type(voter).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InputDataError(f"every must be an int >= 1, got {every!r}")
        if isinstance(tau, bool) or not isinstance(tau, int | float) or not 0 < tau < math.inf:
            raise InputDataError(f"tau must be a positive number of measurements, got {tau!r}")
        if not isinstance(min_weight, int | float) or not 0 <= min_weight < 1:
            raise InputDataError(f"min_weight must be in [0, 1), got {min_weight!r}")
        if metric not in ("cosine", "neg_mse", "ssim"):
            raise InputDataError(f"metric must be 'cosine', 'neg_mse' or 'ssim', got {metric!r}")
        if normalize not in _NORMALIZE:
            raise InputDataError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")
        self.voter, self.every, self.tau = voter, every, float(tau)
        self.min_weight, self.metric, self.normalize, self.who = (
            float(min_weight),
            metric,
            normalize,
            who,
        )
        self._sum: np.ndarray | None = None
        self._wsum = 0.0
        self._offered = 0
        self.history: list[dict[str, Any]] = []

    @property
    def params(self) -> dict[str, Any]:
        """The JSON settings (without the voter)."""
        return {
            "every": self.every,
            "tau": self.tau,
            "min_weight": self.min_weight,
            "metric": self.metric,
            "normalize": self.normalize,
            "who": self.who,
        }

    def human_weight(self, step: int) -> float:
        r""":math:`\lambda(t) = \exp(-t/\tau)` at measurement index ``step``."""
        return math.exp(-max(int(step), 0) / self.tau)

    def active(self, step: int) -> bool:
        """Whether the voter is still asked at measurement index ``step``."""
        return self.human_weight(step) >= self.min_weight

    @property
    def target(self) -> np.ndarray | None:
        """The current target :math:`T` (same shape as a spectrum), ``None`` before a good vote."""
        return None if self._sum is None or self._wsum <= 0 else self._sum / self._wsum

    def scalarizer_spec(self) -> dict[str, Any] | None:
        """Return the similarity-to-target scalarizer spec (``None`` while there is no target)."""
        t = self.target
        if t is None:
            return None
        return {"name": "similarity", "params": {"target": t.tolist(), "metric": self.metric}}

    def _scaled(self, spectrum: np.ndarray) -> np.ndarray:
        s = np.asarray(spectrum, dtype=float)
        if self.normalize is None:
            return s
        n = np.abs(s).max() if self.normalize == "max" else np.linalg.norm(s)
        return s / n if n > 0 else s

    def offer(
        self,
        spectrum: np.ndarray,
        axis: np.ndarray,
        *,
        step: int,
        candidate_id: int = -1,
        row: int = -1,
        col: int = -1,
    ) -> dict[str, Any] | None:
        """Offer one measured spectrum; ask the voter when due and update the target.

        Parameters
        ----------
        spectrum : ndarray, shape (L,)
        axis : ndarray, shape (L,)
        step : int
            Measurement index of the spectrum.
        candidate_id, row, col : int
            Where it was measured (passed to the voter).

        Returns
        -------
        dict or None
            The vote record ``{"step", "candidate_id", "row", "col", "vote" (-1: no
            vote), "human_weight", "weight", "who", "changed", "target"}``;
            ``None`` when the voter was not asked (not due, or decayed away).

        Raises
        ------
        InputDataError
            A spectrum of another shape than the earlier ones, or a bad vote.
        """
        spectrum = np.asarray(spectrum, dtype=float)
        if self._sum is not None and spectrum.shape != self._sum.shape:
            raise InputDataError(f"spectrum shape {spectrum.shape} differs from {self._sum.shape}")
        k, self._offered = self._offered, self._offered + 1
        lam = self.human_weight(step)
        if k % self.every or lam < self.min_weight or not np.isfinite(spectrum).all():
            return None
        info = {
            "step": int(step),
            "candidate_id": int(candidate_id),
            "row": int(row),
            "col": int(col),
            "target": self.target,
            "human_weight": lam,
        }
        vote = check_vote(self.voter(spectrum, np.asarray(axis, dtype=float), info))
        omega = 0.0 if vote is None else vote * lam
        if self._sum is None:
            self._sum = np.zeros_like(spectrum)
        if omega > 0:
            self._sum = self._sum + omega * self._scaled(spectrum)
            self._wsum += omega
        t = self.target
        rec = {
            "step": int(step),
            "candidate_id": int(candidate_id),
            "row": int(row),
            "col": int(col),
            "vote": -1 if vote is None else vote,
            "human_weight": lam,
            "weight": omega,
            "who": self.who,
            "changed": omega > 0,
            "target": None if t is None else t.tolist(),
        }
        self.history.append(rec)
        return rec

    def targets(self) -> np.ndarray:
        """Target after each recorded vote, (n_votes, L), NaN rows before the first good vote."""
        rows = [
            np.full(() if self._sum is None else self._sum.shape, np.nan)
            if r["target"] is None
            else r["target"]
            for r in self.history
        ]
        return np.asarray(rows, dtype=float) if rows else np.empty((0, 0))
