"""The policy base class, the decision context it reads, and greedy batch selection.

A policy scores every candidate from the model's posterior (higher is better) and
selects ``q`` distinct available candidates. Batches (``q > 1``) are built greedily
with the *kriging believer*: after picking ``j`` the model pretends it observed its
posterior mean there, which leaves the mean unchanged, lifts the incumbent to
``max(best_f, mu_j)`` and shrinks the variance everywhere by the information ``j``
carries, ``var_i <- var_i - cov(i, j)^2 / (var_j + sigma^2)``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["DecisionContext", "Policy", "PosteriorLike"]


class PosteriorLike(Protocol):
    """What a policy may ask of a model posterior beyond mean and variance."""

    def cross_cov(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        """Covariance between every candidate and ``idx``, shape (N, len(idx))."""
        ...

    def joint_sample(
        self, idx: Sequence[int] | np.ndarray, rng: np.random.Generator, n_samples: int = 1
    ) -> np.ndarray:
        """Joint samples at ``idx``, shape (n_samples, len(idx))."""
        ...


@dataclass
class DecisionContext:
    """Everything a policy sees at one decision.

    Attributes
    ----------
    mean, var : ndarray, shape (N,)
        Posterior mean and variance of the objective (observation units).
    observed : ndarray, shape (n,)
        Values measured so far (finite ones), for the incumbent.
    available : ndarray of bool, shape (N,)
        Candidates that may be chosen.
    rng : numpy.random.Generator
        Randomness for stochastic policies (Thompson sampling).
    noise : float
        Observation-noise variance (observation units).
    posterior : PosteriorLike, optional
        Cross-covariances and joint samples; without it batches are the top-``q``
        scores and Thompson samples are marginal.
    coords : ndarray, shape (N, 2), optional
        Candidate ``(row, col)`` in pixels (needed for travel costs).
    last : ndarray, shape (2,), optional
        Probe position (pixels) the next move starts from.
    dwell : ndarray, shape (N,), optional
        Per-candidate dwell time (s), default 1.
    """

    mean: np.ndarray
    var: np.ndarray
    observed: np.ndarray
    available: np.ndarray
    rng: np.random.Generator
    noise: float = 0.0
    posterior: PosteriorLike | None = None
    coords: np.ndarray | None = None
    last: np.ndarray | None = None
    dwell: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def best(self, maximize: bool = True) -> float:
        """Best observed value (``-inf``/``+inf`` when nothing was observed)."""
        obs = np.asarray(self.observed, dtype=float)
        obs = obs[np.isfinite(obs)]
        if obs.size == 0:
            return -np.inf if maximize else np.inf
        return float(obs.max() if maximize else obs.min())

    def replace(self, **changes: Any) -> DecisionContext:
        """Return a copy with some fields replaced."""
        return dataclasses.replace(self, **changes)


class Policy:
    """Base class: ``score(ctx) -> (N,)`` (higher is better) and ``select(ctx, q)``.

    Subclasses declare their parameters as keyword arguments of ``__init__`` and
    store them in ``self.params``; :attr:`spec` rebuilds the policy.
    """

    name: ClassVar[str] = "policy"
    #: what the context must provide ("coords" for travel costs)
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **params: Any):
        self.params = params
        try:
            json.dumps(self.spec)
        except TypeError as exc:
            raise InputDataError(f"policy {self.name!r}: params must be JSON: {exc}") from None

    @property
    def spec(self) -> dict[str, Any]:
        """The JSON spec ``{"name", "params"}`` that rebuilds this policy."""
        return {"name": self.name, "params": _jsonable(self.params)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and self.spec == other.spec

    __hash__ = None  # type: ignore[assignment]

    def score(self, ctx: DecisionContext) -> np.ndarray:
        """Return the acquisition value of every candidate, shape (N,)."""
        raise NotImplementedError

    def select(self, ctx: DecisionContext, q: int = 1) -> list[int]:
        """Return up to ``q`` distinct available candidate indices, best first.

        Greedy kriging-believer batches (see the module docstring); without
        ``ctx.posterior`` the top-``q`` scores. Equal scores go to the candidate with
        the larger posterior variance, then the lower index.
        """
        return self.choose(ctx, q)[0]

    def choose(self, ctx: DecisionContext, q: int = 1) -> tuple[list[int], list[float]]:
        """Like :meth:`select`, also returning each pick's score when it was picked."""
        avail = np.asarray(ctx.available, dtype=bool).copy()
        var = np.asarray(ctx.var, dtype=float).copy()
        observed = np.asarray(ctx.observed, dtype=float)
        chosen: list[int] = []
        values: list[float] = []
        cur = ctx
        for k in range(q):
            if not avail.any():
                break
            scores = np.asarray(self.score(cur), dtype=float)
            scores = np.where(avail & ~np.isnan(scores), scores, -np.inf)
            j = _argmax_tiebreak(scores, var, avail)
            chosen.append(j)
            values.append(float(scores[j]))
            avail[j] = False
            if k == q - 1:
                break
            if ctx.posterior is None:  # no covariance: top-q of the first scores
                order = [int(i) for i in np.argsort(-scores, kind="stable") if avail[i]]
                rest = order[: q - 1]
                return chosen + rest, values + [float(scores[i]) for i in rest]
            c = ctx.posterior.cross_cov([j])[:, 0]
            var = np.clip(var - c**2 / (var[j] + ctx.noise + 1e-12), 1e-12, None)
            observed = np.append(observed, ctx.mean[j])
            last = None if ctx.coords is None else np.asarray(ctx.coords[j], dtype=float)
            cur = cur.replace(var=var, observed=observed, available=avail.copy(), last=last)
        return chosen, values


def _argmax_tiebreak(scores: np.ndarray, var: np.ndarray, avail: np.ndarray) -> int:
    """Index of the best available score; ties go to the largest variance, then lowest index."""
    best = scores.max()
    ties = np.flatnonzero(avail & (scores == best))
    if ties.size == 0:  # every available score is -inf
        ties = np.flatnonzero(avail)
    if ties.size == 1:
        return int(ties[0])
    return int(ties[np.argmax(var[ties])])


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def bind_params(cls: type[Policy], params: dict[str, Any]) -> None:
    """Raise :class:`InputDataError` if ``params`` do not fit ``cls.__init__``."""
    sig = inspect.signature(cls.__init__)
    try:
        sig.bind(None, **params)
    except TypeError as exc:
        accepted = [p for p in sig.parameters if p != "self"]
        raise InputDataError(
            f"policy {cls.name!r}: bad parameters {sorted(params)}: {exc}; accepts {accepted}"
        ) from None


Scorer = Callable[[DecisionContext], np.ndarray]
