"""The recommender's surrogate: what was measured in, a posterior over every candidate out.

:class:`Surrogate` holds the candidate features, the measurements, the model chain
(:mod:`autoscope.recommender.model_chain`) and the variance calibration
(:mod:`autoscope.recommender.calibration`). It refits only when the data changed and
hands the acquisition policy a :class:`~autoscope.policies.DecisionContext`; before
a model can be fitted (or when none could be) it picks model-free
(:mod:`autoscope.recommender.exploration`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autoscope import models, policies
from autoscope.errors import ModelFittingError
from autoscope.recommender.calibration import ForecastCalibration
from autoscope.recommender.candidates import CandidateSet
from autoscope.recommender.exploration import maxmin_pick, random_pick
from autoscope.recommender.model_chain import FitOutcome, ModelChain
from autoscope.recommender.objectives import Measurements, Objectives

__all__ = ["Surrogate"]


class Surrogate:
    """Training data, the fitted model chain and its (calibrated) posterior over N candidates.

    Parameters
    ----------
    features : ndarray, shape (N, ...)
        Candidate features (patches or any rows).
    candidates : CandidateSet
        The recommender's candidate book-keeping (positions, masks, pending).
    chain : ModelChain
        The main model and its fallbacks.
    objectives : Objectives
        How ingested values become the one objective the model learns.
    calibration : ForecastCalibration
        Variance calibration by forecast errors.
    min_train : int
        Valid measurements needed before a model is fitted.
    """

    def __init__(
        self,
        features: np.ndarray,
        candidates: CandidateSet,
        chain: ModelChain,
        objectives: Objectives,
        calibration: ForecastCalibration,
        min_train: int,
    ):
        self.features = features
        self.candidates = candidates
        self.chain = chain
        self.objectives = objectives
        self.calibration = calibration
        self.min_train = min_train
        self.data = Measurements(objectives)
        self.fit = FitOutcome()
        self.dirty = True
        self.refitted = False
        self._fit_step = -1
        self._with_coords: np.ndarray | None = None

    def inputs(self, model: models.GPSurrogate) -> np.ndarray:
        """Return ``model``'s inputs for all N candidates (features, positions or both)."""
        if model.input_kind == "coords":
            return self.candidates.candidates
        if model.input_kind == "features+coords":
            if self._with_coords is None:
                flat = self.features.reshape(self.features.shape[0], -1)
                coords = self.candidates.candidates.astype(flat.dtype)
                self._with_coords = np.concatenate([flat, coords], axis=1)
            model.feature_shape = tuple(self.features.shape[1:])
            return self._with_coords
        return self.features

    def train_data(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return ids (n',) and finite objective values (n',) of the valid points."""
        return self.data.train_data(rng)

    def ensure(self, step: int, rng: Callable[[int], np.random.Generator]) -> FitOutcome:
        """Refit the model chain when the data changed (or ParEGO drew new weights).

        Parameters
        ----------
        step : int
            The recommender's decision counter.
        rng : callable
            ``rng(stream)`` returns the decision's generator for that stream.
        """
        spec = self.objectives.spec
        if spec is not None and spec["method"] == "parego" and self._fit_step != step:
            self.dirty = True  # new random weights at every decision
        # "refitted since the last decision": a predict() between decisions (the plan's
        # maps) may have done the fit this decision uses; its time still counts here
        self.refitted = self.refitted or self.dirty
        if self.dirty:
            self._fit_step = step
            ids, y = self.train_data(rng(3))
            if spec is None or spec["method"] != "parego":  # parego: a new objective each time
                self.calibration.observe(ids, y)
            self.fit = self.chain.fit(self.inputs, ids, y, self.min_train)
            self.dirty = False
        return self.fit

    def model_free(
        self, available: np.ndarray, q: int, rng: np.random.Generator, strategy: str
    ) -> list[int]:
        """Pick ``q`` available candidates without a model (``"random"`` or ``"maxmin"``)."""
        if self.fit.phase == "maxmin":
            strategy = "maxmin"
        if strategy == "random":
            return random_pick(available, q, rng)
        where = self.candidates.coords if self.candidates.coords is not None else self.features
        measured = np.asarray(self.data.ids, dtype=np.int64)
        return maxmin_pick(where, measured, available, q, rng)

    def context(
        self, available: np.ndarray, rng: np.random.Generator, observed: np.ndarray
    ) -> policies.DecisionContext:
        """Return what the policy sees: the (calibrated for policy) posterior and the set-up."""
        if self.fit.posterior is None:
            raise ModelFittingError("no fitted posterior to decide on")
        post = self.calibration.for_policy(self.fit.posterior)
        return policies.DecisionContext(
            mean=post.mean,
            var=post.var,
            observed=observed,
            available=available,
            rng=rng,
            noise=post.noise,
            posterior=post,
            coords=self.candidates.coords,
            last=self.candidates.last_position(self.data.ids),
            dwell=self.candidates.dwell,
        )

    # -- what the recommender reports ------------------------------------------------------
    def predict(
        self, step: int, rng: Callable[[int], np.random.Generator]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the reported (calibrated) mean and variance (N,); a flat prior without a model."""
        post = self.ensure(step, rng).posterior
        if post is not None:
            post = self.calibration.apply(post)
            return post.mean.copy(), post.var.copy()
        y = self.train_data(rng(3))[1]
        mu = float(y.mean()) if y.size else 0.0
        var = float(y.var()) if y.size > 1 and y.var() > 0 else 1.0
        n = len(self.features)
        return np.full(n, mu), np.full(n, var)

    def max_std(
        self, available: np.ndarray, step: int, rng: Callable[[int], np.random.Generator]
    ) -> float | None:
        """Return the largest reported std over ``available`` (``None`` without a model)."""
        if not available.any():
            return None
        post = self.ensure(step, rng).posterior
        if post is None:
            return None
        return float(np.sqrt(self.calibration.apply(post).var[available].max()))
