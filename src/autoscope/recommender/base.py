"""The recommender's machinery over N candidates: set-up, suggest/ingest, model outputs.

:class:`CandidateRecommender` is everything :class:`~autoscope.recommender.DKLRecommender`
does once its candidates have features: the candidate set
(:mod:`~autoscope.recommender.candidates`), the surrogate
(:mod:`~autoscope.recommender.surrogate`), the acquisition policy and the stopping
criteria. The public constructors (an image, or any feature array) are
:class:`~autoscope.recommender.DKLRecommender`'s.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autoscope import models, policies
from autoscope.errors import InputDataError, NoRecommendation
from autoscope.recommender.calibration import ForecastCalibration
from autoscope.recommender.candidates import CandidateSet, check_int
from autoscope.recommender.model_chain import FitOutcome, ModelChain
from autoscope.recommender.objectives import Measurements, Objectives
from autoscope.recommender.stopping import StopCriteria
from autoscope.recommender.surrogate import Surrogate

__all__ = ["SEED_STRATEGIES", "CandidateRecommender"]

SEED_STRATEGIES = ("random", "maxmin")


class CandidateRecommender:
    """Suggest/ingest over N candidates with a surrogate model and a policy.

    Built by :class:`~autoscope.recommender.DKLRecommender`'s constructors, which
    document every option; this class holds no public constructor of its own.
    """

    _config: dict[str, Any]
    _image_shape: tuple[int, int] | None

    def _setup(
        self,
        feats: np.ndarray,
        coords: np.ndarray | None,
        policy: Any,
        seed: int,
        model: Any,
        *,
        mask: np.ndarray | None,
        excluded: Sequence[int] | None,
        objectives: Mapping[str, Any] | None,
        stop: Mapping[str, Any] | None,
        min_train: int,
        seed_strategy: str,
        fallback: Sequence[Any],
        nan_policy: str,
        calibration: str,
    ) -> None:
        self.seed = check_int("seed", seed, 0)
        min_train = check_int("min_train", min_train, 1)
        if seed_strategy not in SEED_STRATEGIES:
            raise InputDataError(
                f"seed_strategy must be one of {SEED_STRATEGIES}, got {seed_strategy!r}"
            )
        if nan_policy not in ("skip", "raise"):
            raise InputDataError(f"nan_policy must be 'skip' or 'raise', got {nan_policy!r}")
        self.features = feats
        self._set = CandidateSet(len(feats), coords, self._image_shape)
        self._policy = policies.from_spec(policy)
        self._check_policy(self._policy)
        objs = Objectives(objectives)
        self._stop = StopCriteria(stop)
        self._calibration = ForecastCalibration(calibration)
        chain = ModelChain(model, fallback, self.seed, coords is not None)
        self._model = Surrogate(feats, self._set, chain, objs, self._calibration, min_train)
        self._config.update(
            {"min_train": min_train, "seed_strategy": seed_strategy,
             "nan_policy": nan_policy, "objectives": objs.spec,
             "stop": self._stop.spec or None, "calibration": calibration}
        )  # fmt: skip
        if mask is not None:
            self._set.restrict(mask)
        if excluded is not None:
            self._set.exclude(excluded)
        self._step, self._ingest_time = 0, 0.0
        self.last_decision: dict[str, Any] | None = None

    # -- properties --------------------------------------------------------------------------
    @property
    def candidates(self) -> np.ndarray:
        """``(row, col)`` of every candidate, (N, 2) int (ids as (N, 1) without coordinates)."""
        return self._set.candidates

    @property
    def min_train(self) -> int:
        """Valid measurements needed before the model is used."""
        return self._model.min_train

    @property
    def policy(self) -> policies.Policy:
        """The acquisition policy; assign a name, spec or Policy to change it mid-run."""
        return self._policy

    @policy.setter
    def policy(self, spec: Any) -> None:
        new = policies.from_spec(spec)
        self._check_policy(new)
        self._policy = new

    @property
    def model(self) -> models.GPSurrogate:
        """The surrogate model (see :meth:`set_model`)."""
        return self._model.chain.model

    def set_model(self, spec: Any) -> None:
        """Replace the model by a new one built from ``spec`` (trained at the next decision)."""
        self._model.chain.set_model(spec)
        self._calibration.reset()
        self._model.dirty = True

    @property
    def config(self) -> dict[str, Any]:
        """JSON dict that rebuilds this recommender.

        ``DKLRecommender(image, **config)`` for an image recommender,
        ``DKLRecommender.from_features(X, **config)`` for features.
        """
        out = dict(self._config)
        out.update({"policy": self._policy.spec, "seed": self.seed, **self._model.chain.specs})
        out["excluded"] = self._set.excluded_ids()
        return out

    @property
    def measured_ids(self) -> list[int]:
        """Ingested candidate ids, in order (repeats included)."""
        return list(self._model.data.ids)

    @property
    def values(self) -> np.ndarray:
        """Ingested values, (n,) or (n, m) with several objectives (NaN kept)."""
        return self._model.data.values

    @property
    def objective(self) -> np.ndarray:
        """The scalarised objective of every ingested point, (n,) (NaN for invalid ones)."""
        return self._model.data.objective(self._decision_rng(3))

    @property
    def pending(self) -> list[int]:
        """Ids suggested but not ingested yet (never suggested again until cleared)."""
        return sorted(self._set.pending)

    def clear_pending(self) -> None:
        """Forget pending suggestions (e.g. after an aborted batch)."""
        self._set.pending.clear()

    def set_pending(self, ids: Any) -> None:
        """Make exactly ``ids`` pending (a replay following a stored run's points in flight)."""
        self._set.pending = {int(i) for i in ids}

    def exclude(self, where: Any) -> None:
        """Never suggest these candidates: an (H, W) or (N,) bool mask, or ids."""
        self._set.exclude(where)

    def include(self, where: Any) -> None:
        """Allow these candidates again: an (H, W) or (N,) bool mask, or ids."""
        self._set.include(where)

    def set_dwell(self, dwell: np.ndarray | float) -> None:
        """Set the dwell time (s) per candidate for cost-aware policies: (N,), (H, W) or scalar."""
        self._set.set_dwell(dwell)

    # -- the protocol ---------------------------------------------------------------------------
    def ingest(self, points: Sequence[Mapping[str, Any]]) -> None:
        """Add measured points ``{"_id": int, "value": float | [m floats]}``.

        Any candidate id is accepted (suggested or not, excluded or not) and several
        at once; the whole batch is validated before anything is recorded. A
        candidate measured again in a later call is a replicate: one more training
        row (the model's noise term weighs replicates). One id twice in the *same*
        call is refused: that is a book-keeping error, not a replicate.

        Raises
        ------
        InputDataError
            Not a list of dicts, missing keys, an unknown id, one id twice in the
            call, a non-numeric or infinite value, a NaN value with
            ``nan_policy="raise"``.
        """
        t0 = time.perf_counter()
        checked = self._set.parse_points(
            points, self._model.objectives.check_value, self._config["nan_policy"] == "raise"
        )
        self._model.data.add(checked)
        for i, _ in checked:
            self._set.mark_measured(i)
        if checked:
            self._model.dirty = True
        self._ingest_time += time.perf_counter() - t0

    def replace_values(self, values: Any) -> None:
        """Replace the value of every ingested point, in :attr:`measured_ids` order.

        Used when the scalarizer changes mid-run (steering, counterfactual replay):
        the stored spectra are re-scalarized and the model keeps its weights and
        refits on the new targets at the next decision.

        Parameters
        ----------
        values : array-like, shape (n,) or (n, m)
            One value (or ``m`` objective values) per ingested point; NaN marks a
            point that stays measured but is not trained on.

        Raises
        ------
        InputDataError
            Wrong length or non-numeric values.
        """
        arr = np.asarray(values, dtype=float)
        n = len(self._model.data.ids)
        if arr.shape[:1] != (n,):
            raise InputDataError(f"need {n} values (one per ingested point), got shape {arr.shape}")
        self._model.data.replace([self._model.objectives.check_value(v) for v in arr])
        self._calibration.reset()  # forecasts were of the old targets
        self._model.dirty = True

    def suggest(self, batch_size: int = 1) -> list[dict[str, Any]]:
        """Return ``batch_size`` distinct candidates to measure next, best first.

        Never an ingested, excluded or pending id; fewer than ``batch_size`` when
        fewer are left. Each point is ``{"_id", "row", "col"}`` (``"_id"`` only
        without coordinates).

        Raises
        ------
        NoRecommendation
            No candidate is left.
        """
        q = check_int("batch_size", batch_size, 1)
        with models.torch_threads(self._threads):
            return self._suggest(q)

    def _suggest(self, q: int) -> list[dict[str, Any]]:
        available = self._set.available()
        if not available.any():
            raise NoRecommendation(
                f"no candidate left: {len(set(self._model.data.ids))} measured, "
                f"{int(self._set.excluded.sum())} excluded, {len(self._set.pending)} pending"
            )
        rng = self._decision_rng(0)
        fit = self._model.ensure(self._step, self._decision_rng)
        t1 = time.perf_counter()
        _, y = self._model.train_data(self._decision_rng(3))
        if fit.posterior is None:
            ids = self._model.model_free(available, q, rng, self._config["seed_strategy"])
            scores = [float("nan")] * len(ids)
        else:
            ids, scores = self._policy.choose(self._model.context(available, rng, y), q)
            self._calibration.forecast_posterior(ids, fit.posterior)
        self._set.pending.update(ids)
        timings = {"ingest": self._ingest_time, "acquire": time.perf_counter() - t1}
        self.last_decision = fit.decision(
            ids,
            scores,
            y,
            step=self._step,
            policy=self._policy.spec,
            n_measured=len(self._model.data.ids),
            timings=timings,
            refitted=self._model.refitted,
            posterior=None
            if fit.posterior is None
            else self._calibration.for_policy(fit.posterior),
        )
        self.last_decision["variance_factor"] = self._calibration.factor
        self._ingest_time = 0.0
        self._model.refitted = False
        self._step += 1
        release = getattr(fit.model, "release", None)
        if callable(release):  # the model's background retrain may start now (refit_lag)
            release()
        return [self._set.point(i) for i in ids]

    # -- model outputs ------------------------------------------------------------------------
    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the objective at every candidate, each (N,).

        In the units of the ingested values. Before ``min_train`` valid points (or
        when no model could be fitted) a flat prior: the mean and variance of the
        valid values so far (0 and 1 with none).
        """
        return self._model.predict(self._step, self._decision_rng)

    def acquisition(self) -> np.ndarray:
        """Return the policy's score of every candidate for the next decision, (N,).

        NaN where nothing can be suggested (measured, excluded, pending) and
        everywhere before the model is used (seed phase).
        """
        n = len(self.features)
        if self._model.ensure(self._step, self._decision_rng).posterior is None:
            return np.full(n, np.nan)
        available = self._set.available()
        y = self._model.train_data(self._decision_rng(3))[1]
        with models.torch_threads(self._threads):
            ctx = self._model.context(available, self._decision_rng(0), y)
            scores = self._policy.score(ctx)
        return np.where(available, np.asarray(scores, dtype=float), np.nan)

    def embed(self) -> np.ndarray | None:
        """Return the model's embedding of every candidate, (N, d) (``None`` before a fit)."""
        fit = self._model.ensure(self._step, self._decision_rng)
        if fit.model is None:
            return None
        return fit.model.embed(self._model.inputs(fit.model))

    def should_stop(self) -> str | None:
        """Return why the experiment should stop, or ``None`` to go on.

        Reasons: ``"exhausted"``, ``"budget"``, ``"uncertainty"``, ``"no_improvement"``
        (see :mod:`autoscope.recommender.stopping`).
        """
        available = self._set.available(include_pending=True)
        max_std = None
        if self._stop.std_below is not None:
            max_std = self._model.max_std(available, self._step, self._decision_rng)
        return self._stop.check(
            n_measured=len(self._model.data.ids),
            n_available=int(available.sum()),
            objective=self.objective,
            max_std=max_std,
        )

    # -- internals ----------------------------------------------------------------------------
    @property
    def _threads(self) -> int | None:
        return self._model.chain.model.params.get("threads")

    def _decision_rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self._step, stream])

    def _check_policy(self, policy: policies.Policy) -> None:
        if "coords" in policy.requires and self._set.coords is None:
            raise InputDataError(f"policy {policy.name!r} needs candidate coordinates")

    # the surrogate's parts under their earlier names (model tests read them)
    @property
    def _chain(self) -> ModelChain:
        return self._model.chain

    @property
    def _data(self) -> Measurements:
        return self._model.data

    def _inputs(self, model: models.GPSurrogate) -> np.ndarray:
        return self._model.inputs(model)

    def _ensure_model(self) -> FitOutcome:
        return self._model.ensure(self._step, self._decision_rng)
