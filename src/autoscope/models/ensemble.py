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
from typing import Any, cast

import numpy as np

from autoscope._specs import split_spec
from autoscope.errors import InputDataError
from autoscope.models._base import GPSurrogate
from autoscope.models._checks import check_int
from autoscope.models._gp import CandidatePosterior
from autoscope.models._registry import get as build_model
from autoscope.models._registry import register
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

    def cross_cov(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        """Mixture covariance between every candidate and candidates ``idx``, (N, len(idx))."""
        cols = np.asarray(idx, dtype=np.int64)
        within = np.mean([m.cross_cov(idx) for m in self.members], axis=0)
        dev = self._means - self.mean
        return within + dev.T @ dev[:, cols] / len(self.members)

    def joint_sample(
        self, idx: Sequence[int] | np.ndarray, rng: np.random.Generator, n_samples: int = 1
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


class _Columns:
    """A member that reads only some input columns (the position of ``features+coords``)."""

    def __init__(self, model: GPSurrogate, columns: slice):
        self.model, self.columns = model, columns
        self._last: tuple[Any, np.ndarray] | None = None

    def _cols(self, x: Any) -> np.ndarray:
        """Return the member's columns of ``x``: the same view for the same array object.

        The member's posterior cache is keyed on the array it is given
        (:class:`~autoscope.models._update.CandidateCache`), so the candidates' view is
        made once.
        """
        if self._last is None or self._last[0] is not x:
            self._last = (x, np.asarray(x)[:, self.columns])
        return self._last[1]

    def __getattr__(self, name: str) -> Any:  # prepared, spec, structure_share, ...
        return getattr(self.__dict__["model"], name)

    @property
    def feature_shape(self) -> tuple[int, ...] | None:
        return getattr(self.model, "feature_shape", None)

    @feature_shape.setter
    def feature_shape(self, shape: tuple[int, ...] | None) -> None:
        self.model.feature_shape = shape

    def prepare(self, x_all: np.ndarray) -> None:
        self.model.prepare(self._cols(x_all))

    def fit(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        return self.model.fit(np.asarray(x)[:, self.columns], y)

    def posterior(self, x: np.ndarray, batch_size: int = 4096) -> CandidatePosterior:
        return self.model.posterior(self._cols(x), batch_size)

    def embed(self, x: np.ndarray) -> np.ndarray:
        return self.model.embed(np.asarray(x)[:, self.columns])


def _reading(model: GPSurrogate, input_kind: str) -> GPSurrogate:
    """Return ``model`` fed from inputs of ``input_kind`` (the lead member's)."""
    if model.input_kind == input_kind:
        return model
    if input_kind == "features+coords" and model.input_kind in ("coords", "features"):
        columns = slice(-2, None) if model.input_kind == "coords" else slice(0, -2)
        return cast(GPSurrogate, _Columns(model, columns))  # a proxy with the model's API
    raise InputDataError(
        f"ensemble member {model.name!r} reads {model.input_kind!r} inputs, which the first "
        f"member's {input_kind!r} inputs do not contain"
    )


class Ensemble(GPSurrogate):
    """Several models fitted to the same data, whose posteriors form one equal-weight mixture.

    Either ``members`` copies of one spec, seeded differently (a deep ensemble), or a
    list of different specs: e.g. a spatial DKL and a GP on the coordinates, a committee
    of a model that reads the structure and one that reads only the position.

    Parameters
    ----------
    base : str or dict
        The members' model spec (``"spatial_dkl"`` by default) when ``members`` is a
        number; its ``seed`` is ignored. Unused when ``members`` is a list.
    members : int or list of (str or dict)
        ``K`` (2–16) copies of ``base``, or the members' specs (2–16). The first member's
        ``input_kind`` is the ensemble's; a later member that reads the coordinates, or
        the features, gets those columns of ``"features+coords"`` inputs. Fitting and
        prediction cost the sum of the members'.
    seed : int
        Copies: member ``k`` is seeded ``seed`` for ``k = 0`` (so it is the single model)
        and a seed derived from ``(seed, k)`` otherwise. A list: every member is seeded
        ``seed`` unless its spec gives its own.
    refit_every : int, optional
        Given to every member whose spec does not set it: the fast update path
        (:class:`~autoscope.models.GPSurrogate`), training every ``refit_every``-th fit
        and conditioning in between. ``None`` (default): the members' own setting.
    refit_lag : int, optional
        Given likewise: retrains in the background trainer thread, swapped in
        ``refit_lag`` fits later (:class:`~autoscope.models.GPSurrogate`).

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

    def __init__(
        self,
        *,
        base: Any = "spatial_dkl",
        members: int | Sequence[Any] = 3,
        seed: int = 0,
        refit_every: int | None = None,
        refit_lag: int | None = None,
    ):
        seed = check_int("seed", seed, 0)
        shared: dict[str, Any] = {"seed": seed}
        if refit_every is not None:
            shared["refit_every"] = check_int("refit_every", refit_every, 1)
        if refit_lag is not None:
            shared["refit_lag"] = check_int("refit_lag", refit_lag, 0)
        self.models: list[GPSurrogate]
        if isinstance(members, list | tuple):
            if not 2 <= len(members) <= 16:
                raise InputDataError(f"an ensemble needs 2-16 members, got {len(members)}")
            specs = [_member_spec(m, shared) for m in members]
            built = [build_model(name, **params) for name, params in specs]
            lead = built[0]
            self.models = [_reading(m, lead.input_kind) for m in built]
            stored = [m.spec for m in built]
            for spec, member in zip(stored, members, strict=True):  # the ensemble's own settings
                own = split_spec(member, "model")[1] or {}
                for key in shared:
                    if key not in own:
                        spec["params"].pop(key, None)
            self._params = {"base": None, "members": stored, "seed": seed}
        else:
            name, params = _member_spec(base, shared)
            params.pop("seed")
            k_members = check_int("members", members, 2, 16)
            self.models = [
                build_model(
                    name, **params, seed=seed if k == 0 else derive_seed(seed, 7919, k) % 2**31
                )
                for k in range(k_members)
            ]
            lead = self.models[0]
            self._params = {"base": lead.spec, "members": k_members, "seed": seed}
            self._params["base"]["params"].pop("seed", None)
            own = split_spec(base, "model")[1] or {}
            for key in ("refit_every", "refit_lag"):
                if key in shared and key not in own:
                    self._params["base"]["params"].pop(key, None)
        # absent otherwise: specs stored before they existed still match
        for key, value in (("refit_every", refit_every), ("refit_lag", refit_lag)):
            if value is not None:
                self._params[key] = value
        self.input_kind = lead.input_kind
        self.n_fits = 0

    # -- what the recommender reads and sets -------------------------------------------------
    @property
    def prepared(self) -> bool:  # type: ignore[override]  # derived from the members
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
    def module(self) -> Any:  # type: ignore[override]  # the first member's
        """The first member's fitted gpytorch module (``None`` before a fit)."""
        return self.models[0].module

    @property
    def structure_share(self) -> float:
        """The mean structure share of the members that have one (NaN if none has one)."""
        shares = [getattr(m, "structure_share", np.nan) for m in self.models]
        shares = [s for s in shares if np.isfinite(s)]
        return float(np.mean(shares)) if shares else float("nan")

    # -- the model API ------------------------------------------------------------------------
    def prepare(self, x_all: np.ndarray) -> None:
        """Run every member's unsupervised set-up on all candidates."""
        for m in self.models:
            m.prepare(x_all)

    def fit(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Fit every member; the report sums iterations and seconds and joins failures."""
        reports = [m.fit(x, y) for m in self.models]
        self.n_fits += 1
        updates = sorted({r.get("update", "train") for r in reports})
        return {
            "update": "+".join(updates),
            "trigger": next((r["trigger"] for r in reports if r.get("trigger")), None),
            # the members whose served model trained (a conditioned member reports no loss,
            # even while a sliced retrain runs on its copy); NaN if none did
            "loss": _mean_loss([r for r in reports if r.get("update", "train") != "condition"]),
            "iterations": sum(r["iterations"] for r in reports),
            "reinit": any(r["reinit"] for r in reports),
            "attempts": max(r["attempts"] for r in reports),
            "failures": [f for r in reports for f in r["failures"]],
            "jitter_warnings": sum(r["jitter_warnings"] for r in reports),
            "stale": any(r["stale"] for r in reports),
            "seconds": sum(r["seconds"] for r in reports),
            "members": reports,
        }

    def posterior(  # type: ignore[override]  # a mixture, with CandidatePosterior's API
        self, x: np.ndarray, batch_size: int = 4096
    ) -> MixturePosterior:
        """Return the mixture of the members' posteriors over ``x``."""
        return MixturePosterior([m.posterior(x, batch_size) for m in self.models])

    def release(self) -> None:
        """Say that the decision on the last fit is done (every member's background retrain)."""
        for m in self.models:
            m.release()

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Return the first member's embedding (members' embeddings are not aligned)."""
        return self.models[0].embed(x)

    def __repr__(self) -> str:
        return f"Ensemble(fits={self.n_fits}, {self._params})"


def _mean_loss(reports: list[dict[str, Any]]) -> float:
    """Mean training loss of the reports given, NaN when there are none."""
    return float(np.mean([r["loss"] for r in reports])) if reports else float("nan")


def _member_spec(spec: Any, shared: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return a member's ``(name, params)``: ``shared`` settings unless the spec has its own."""
    name, params = split_spec(spec, "model")
    if name == Ensemble.name:
        raise InputDataError("an ensemble member cannot be another ensemble")
    return name, {**shared, **params}


register(Ensemble.name, Ensemble)
