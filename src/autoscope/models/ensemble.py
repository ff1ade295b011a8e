r"""An ensemble of surrogates that differ only in their initial weights, as one mixture posterior.

A deep kernel fitted to a few points lands in one of many embeddings that explain them
equally well, and each is confident where the others disagree. ``K`` members built from
the same spec with different seeds, fitted to the same data, give the equally weighted
mixture

.. math:: p(f \mid \mathcal D) = \frac1K \sum_{k=1}^K \mathcal N\big(\mu_k, \Sigma_k\big),
          \quad \bar\mu = \frac1K \sum_k \mu_k,\quad
          \bar\Sigma = \frac1K \sum_k \big(\Sigma_k + (\mu_k - \bar\mu)(\mu_k - \bar\mu)^\top\big),

whose moments the policies score: the spread of the members' means adds to the variance
exactly where the embedding is not pinned down by the data (deep ensembles,
Lakshminarayanan et al. 2017, applied to DKL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autoscope._specs import split_spec
from autoscope.errors import InputDataError
from autoscope.models._base import GPSurrogate, check_int
from autoscope.models._gp import CandidatePosterior
from autoscope.models._training import derive_seed

__all__ = ["Ensemble", "MixturePosterior"]


class MixturePosterior:
    """The equally weighted mixture of members' :class:`CandidatePosterior` s.

    Same interface as :class:`CandidatePosterior`: ``mean``, ``var`` (moment-matched),
    ``noise`` (the members' mean), :meth:`cross_cov`, :meth:`joint_sample`, :meth:`widened`.
    """

    def __init__(self, members: Sequence[CandidatePosterior]):
        if not members:
            raise InputDataError("a mixture needs at least one member posterior")
        self.members = list(members)
        self._means = np.stack([m.mean for m in self.members])
        self.mean = self._means.mean(axis=0)
        self.var = np.stack([m.var for m in self.members]).mean(axis=0) + self._means.var(axis=0)
        self.noise = float(np.mean([m.noise for m in self.members]))

    def cross_cov(self, idx: Sequence[int]) -> np.ndarray:
        """Mixture covariance between every candidate and candidates ``idx``, (N, len(idx))."""
        idx = np.asarray(idx, dtype=np.int64)
        within = np.mean([m.cross_cov(idx) for m in self.members], axis=0)
        dev = self._means - self.mean
        return within + dev.T @ dev[:, idx] / len(self.members)

    def joint_sample(
        self, idx: Sequence[int], rng: np.random.Generator, n_samples: int = 1
    ) -> np.ndarray:
        """Draw joint samples at ``idx``: each from a member chosen uniformly, (n, len(idx))."""
        which = rng.integers(len(self.members), size=n_samples)
        out = np.empty((n_samples, len(idx)))
        for k in np.unique(which):
            rows = np.flatnonzero(which == k)
            out[rows] = self.members[k].joint_sample(idx, rng, len(rows))
        return out

    def widened(self, factor: float) -> MixturePosterior:
        """Return the mixture with every variance (latent, noise, spread) scaled by ``factor``."""
        s = float(np.sqrt(factor))
        members = [m.widened(factor) for m in self.members]
        for m, mu in zip(members, self._means, strict=True):  # spread scales with the std
            m.mean = self.mean + s * (mu - self.mean)
        return MixturePosterior(members)


class Ensemble(GPSurrogate):
    """``members`` copies of one model spec, seeded differently, fitted to the same data.

    Parameters
    ----------
    base : str or dict
        The members' model spec (``"spatial_dkl"`` by default); its ``seed`` is ignored.
    members : int
        ``K`` (2–16). Fitting and prediction cost ``K`` times one member's.
    seed : int
        Member ``k`` is seeded ``seed`` for ``k = 0`` (so it is the single model) and
        a seed derived from ``(seed, k)`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from autoscope.models import Ensemble
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(20, 6)).astype("float32")
    >>> model = Ensemble(base={"name": "dkl", "params": {"n_iter": 20}}, members=2)
    >>> _ = model.fit(x, x[:, 0].astype(float))
    >>> mean, var = model.predict(x)
    >>> mean.shape, bool((var > 0).all())
    ((20,), True)
    """

    name = "ensemble"

    def __init__(self, *, base: Any = "spatial_dkl", members: int = 3, seed: int = 0):
        from autoscope import models  # the registry (this module is one of its entries)

        name, params = split_spec(base, "model")
        if name == self.name:
            raise InputDataError("an ensemble's base cannot be another ensemble")
        params = {k: v for k, v in params.items() if k != "seed"}
        k_members = check_int("members", members, 2, 16)
        seed = check_int("seed", seed, 0)
        self.models = [
            models.get(name, **params, seed=seed if k == 0 else derive_seed(seed, 7919, k) % 2**31)
            for k in range(k_members)
        ]
        lead = self.models[0]
        self._params = {"base": lead.spec, "members": k_members, "seed": seed}
        self._params["base"]["params"].pop("seed", None)
        self.input_kind = lead.input_kind
        self.n_fits = 0

    # -- what the recommender reads and sets -------------------------------------------------
    @property
    def prepared(self) -> bool:
        """Whether every member ran its unsupervised set-up."""
        return all(m.prepared for m in self.models)

    @property
    def feature_shape(self) -> tuple[int, ...] | None:
        """One candidate's feature shape, set on every member (spatial members need it)."""
        return getattr(self.models[0], "feature_shape", None)

    @feature_shape.setter
    def feature_shape(self, shape: tuple[int, ...] | None) -> None:
        for m in self.models:
            m.feature_shape = shape

    @property
    def module(self) -> Any:
        """The first member's fitted gpytorch module (``None`` before a fit)."""
        return self.models[0].module

    @property
    def structure_share(self) -> float:
        """The members' mean structure share (NaN for members without one)."""
        return float(np.mean([getattr(m, "structure_share", np.nan) for m in self.models]))

    # -- the model API ------------------------------------------------------------------------
    def prepare(self, x_all: np.ndarray) -> None:
        """Run every member's unsupervised set-up on all candidates."""
        for m in self.models:
            m.prepare(x_all)

    def fit(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Fit every member; the report sums iterations and seconds and joins failures."""
        reports = [m.fit(x, y) for m in self.models]
        self.n_fits += 1
        return {
            "loss": float(np.mean([r["loss"] for r in reports])),
            "iterations": sum(r["iterations"] for r in reports),
            "reinit": any(r["reinit"] for r in reports),
            "attempts": max(r["attempts"] for r in reports),
            "failures": [f for r in reports for f in r["failures"]],
            "jitter_warnings": sum(r["jitter_warnings"] for r in reports),
            "stale": any(r["stale"] for r in reports),
            "seconds": sum(r["seconds"] for r in reports),
            "members": reports,
        }

    def posterior(self, x: np.ndarray, batch_size: int = 4096) -> MixturePosterior:
        """Return the mixture of the members' posteriors over ``x``."""
        return MixturePosterior([m.posterior(x, batch_size) for m in self.models])

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Return the first member's embedding (members' embeddings are not aligned)."""
        return self.models[0].embed(x)

    def __repr__(self) -> str:
        return f"Ensemble(fits={self.n_fits}, {self._params})"
