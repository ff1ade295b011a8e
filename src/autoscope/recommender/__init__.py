"""The recommender: candidate set + surrogate model + acquisition policy; suggest/ingest.

Each candidate is a pixel whose patch fits in the structural image (see
:mod:`autoscope.features`), or a row of any feature array
(:meth:`DKLRecommender.from_features`). ``suggest(n)`` trains the model on what was
ingested (only when something new came), predicts every candidate and lets the
policy choose ``n`` of the candidates that were neither measured, excluded nor
suggested-and-pending. The shape follows ``bluesky_adaptive.protocols.Optimizer``
(``suggest(batch_size)``, ``ingest(points)``) without depending on it.

Examples
--------
>>> import numpy as np
>>> from autoscope.recommender import DKLRecommender
>>> image = np.random.default_rng(0).normal(size=(24, 24))
>>> rec = DKLRecommender(image, patch_size=8, policy="ei", seed=0,
...                      model={"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5}})
>>> rec.candidates.shape
(289, 2)
>>> pts = rec.suggest(2)                       # seed points: random, seeded
>>> rec.ingest([{"_id": p["_id"], "value": float(p["row"])} for p in pts])
>>> nxt = rec.suggest(1)[0]
>>> nxt["_id"] not in {p["_id"] for p in pts}
True
>>> mean, var = rec.predict()
>>> mean.shape, var.shape
((289,), (289,))
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autoscope import models, policies
from autoscope._calibration import ForecastCalibration
from autoscope._exploration import maxmin_pick, random_pick
from autoscope._model_chain import FitOutcome, ModelChain
from autoscope._objectives import Measurements, Objectives
from autoscope._recommender_state import CandidateSet, check_int
from autoscope._stopping import StopCriteria
from autoscope.errors import InputDataError, ModelFittingError, NoRecommendation
from autoscope.features import extract_patches, standardize_features

__all__ = ["DKLRecommender"]

_SEED_STRATEGIES = ("random", "maxmin")


class DKLRecommender:
    """Suggest where to measure next with a DKL model (or a baseline) and a policy.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Structural image (any real dtype, finite).
    patch_size : int
        Patch side ``p`` in pixels; candidates are the patch centres.
    policy : str or dict
        Acquisition policy name or spec (:mod:`autoscope.policies`).
    seed : int
        Seeds the model, the seed points and stochastic policies.
    model : str or dict
        Model name or spec (:mod:`autoscope.models`); a spec without ``seed`` gets
        the recommender's. Default ``"committee"``: the deep kernel on the patch plus
        a kernel on the position (:class:`~autoscope.models.SpatialDKL`), mixed with a
        GP on the position (:class:`~autoscope.models.Committee`, decision 0010);
        ``"spatial_dkl"`` alone, or ``"dkl"``, the patch-only deep kernel of the papers.
    stride : int
        Spacing of the candidate grid.
    normalize : {"image", "patch", None}
        Patch normalisation (:func:`autoscope.features.extract_patches`).
    mask : ndarray of bool, shape (H, W) or (N,), optional
        ``True`` where suggestions are allowed (knowledge injection).
    excluded : sequence of int, optional
        Candidate ids never to suggest.
    objectives : dict, optional
        Several values per point and how to scalarise them (:mod:`autoscope._objectives`).
    stop : dict, optional
        Stopping criteria (:mod:`autoscope._stopping`), read by :meth:`should_stop`.
    min_train : int
        Valid measurements needed before the model is used; before that
        ``seed_strategy`` picks (``"random"`` or ``"maxmin"``).
    fallback : sequence
        What to use when the model cannot be fitted, in order: model names/specs and
        ``"maxmin"`` (max-min-distance exploration, cannot fail).
    nan_policy : {"skip", "raise"}
        A NaN value is recorded (the point counts as measured and is never suggested
        again) but left out of training (``"skip"``), or rejected (``"raise"``).
    calibration : {"reported", "prequential", "none"}
        Widen the posterior variance by the model's mean squared forecast z-score on the
        last 25 measured suggestions (:mod:`autoscope._calibration`): ``"reported"``
        (default) in what :meth:`predict` returns and :meth:`should_stop` reads, while
        the policy decides on the model's own posterior; ``"prequential"`` for the
        policy too (it then explores more); ``"none"`` nowhere.

    Notes
    -----
    ``mask`` .. ``nan_policy`` are keyword ``**options``, shared with
    :meth:`from_features`.
    """

    def __init__(
        self,
        image: np.ndarray,
        patch_size: int = 16,
        policy: Any = "ei",
        seed: int = 0,
        *,
        model: Any = "committee",
        stride: int = 1,
        normalize: str | None = "image",
        **options: Any,
    ):
        patches, centres = extract_patches(image, patch_size, stride, normalize=normalize)
        self._config: dict[str, Any] = {
            "patch_size": int(patch_size),
            "stride": int(stride),
            "normalize": normalize,
        }
        h, w = np.shape(image)[:2]
        self._image_shape: tuple[int, int] | None = (int(h), int(w))
        self._setup(patches, centres, policy, seed, model, **options)

    @classmethod
    def from_features(
        cls,
        X: np.ndarray,
        policy: Any = "ucb",
        seed: int = 0,
        *,
        coords: np.ndarray | None = None,
        standardize: bool = True,
        model: Any = "dkl",
        **options: Any,
    ) -> DKLRecommender:
        """Build a recommender over arbitrary candidate features.

        Parameters
        ----------
        X : ndarray, shape (N, D), (N, p, p) or (N, p, p, C)
            One row per candidate (trajectories, spectra, patches); flat features get
            an MLP, square patches a CNN.
        policy, seed, model
            As for :class:`DKLRecommender`.
        coords : ndarray, shape (N, 2), optional
            Candidate positions (pixels); needed by ``gp_coords`` and travel costs.
            Without them ``candidates`` is the ids as an (N, 1) array and
            suggestions carry ``"_id"`` only.
        standardize : bool
            Standardise the features (:func:`autoscope.features.standardize_features`).
        **options
            ``mask``, ``excluded``, ``objectives``, ``stop``, ``min_train``,
            ``seed_strategy``, ``fallback``, ``nan_policy`` as for :class:`DKLRecommender`.
        """
        feats = standardize_features(X) if standardize else np.asarray(X, dtype=np.float32)
        if coords is not None:
            coords = np.asarray(coords)
            if coords.shape != (feats.shape[0], 2) or not np.isfinite(coords).all():
                raise InputDataError(
                    f"coords must be finite, shape ({feats.shape[0]}, 2), got {coords.shape}"
                )
        self = cls.__new__(cls)
        self._config = {"standardize": bool(standardize)}
        self._image_shape = None
        self._setup(feats, coords, policy, seed, model, **options)
        return self

    def _setup(
        self,
        feats: np.ndarray,
        coords: np.ndarray | None,
        policy: Any,
        seed: int,
        model: Any,
        *,
        mask: np.ndarray | None = None,
        excluded: Sequence[int] | None = None,
        objectives: Mapping[str, Any] | None = None,
        stop: Mapping[str, Any] | None = None,
        min_train: int = 2,
        seed_strategy: str = "random",
        fallback: Sequence[Any] = ("pca_gp", "maxmin"),
        nan_policy: str = "skip",
        calibration: str = "reported",
    ) -> None:
        self.seed = check_int("seed", seed, 0)
        self.min_train = check_int("min_train", min_train, 1)
        if seed_strategy not in _SEED_STRATEGIES:
            raise InputDataError(
                f"seed_strategy must be one of {_SEED_STRATEGIES}, got {seed_strategy!r}"
            )
        if nan_policy not in ("skip", "raise"):
            raise InputDataError(f"nan_policy must be 'skip' or 'raise', got {nan_policy!r}")
        self.features = feats
        self._set = CandidateSet(len(feats), coords, self._image_shape)
        self._with_coords: np.ndarray | None = None
        self._policy = policies.from_spec(policy)
        self._check_policy(self._policy)
        self._chain = ModelChain(model, fallback, self.seed, coords is not None)
        self._objectives = Objectives(objectives)
        self._data = Measurements(self._objectives)
        self._stop = StopCriteria(stop)
        self._calibration = ForecastCalibration(calibration)
        self._config.update(
            {"min_train": self.min_train, "seed_strategy": seed_strategy,
             "nan_policy": nan_policy, "objectives": self._objectives.spec,
             "stop": self._stop.spec or None, "calibration": calibration}
        )  # fmt: skip
        if mask is not None:
            self._set.restrict(mask)
        if excluded is not None:
            self._set.exclude(excluded)
        self._step, self._fit_step, self._ingest_time = 0, -1, 0.0
        self._fit, self._dirty, self._refitted = FitOutcome(), True, False
        self.last_decision: dict[str, Any] | None = None

    # -- properties --------------------------------------------------------------------------
    @property
    def candidates(self) -> np.ndarray:
        """``(row, col)`` of every candidate, (N, 2) int (ids as (N, 1) without coordinates)."""
        return self._set.candidates

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
        return self._chain.model

    def set_model(self, spec: Any) -> None:
        """Replace the model by a new one built from ``spec`` (trained at the next decision)."""
        self._chain.set_model(spec)
        self._calibration.reset()
        self._dirty = True

    @property
    def config(self) -> dict[str, Any]:
        """JSON dict that rebuilds this recommender.

        ``DKLRecommender(image, **config)`` for an image recommender,
        ``DKLRecommender.from_features(X, **config)`` for features.
        """
        out = dict(self._config)
        out.update({"policy": self._policy.spec, "seed": self.seed, **self._chain.specs})
        out["excluded"] = self._set.excluded_ids()
        return out

    @property
    def measured_ids(self) -> list[int]:
        """Ingested candidate ids, in order (repeats included)."""
        return list(self._data.ids)

    @property
    def values(self) -> np.ndarray:
        """Ingested values, (n,) or (n, m) with several objectives (NaN kept)."""
        return self._data.values

    @property
    def objective(self) -> np.ndarray:
        """The scalarised objective of every ingested point, (n,) (NaN for invalid ones)."""
        return self._data.objective(self._decision_rng(3))

    @property
    def pending(self) -> list[int]:
        """Ids suggested but not ingested yet (never suggested again until cleared)."""
        return sorted(self._set.pending)

    def clear_pending(self) -> None:
        """Forget pending suggestions (e.g. after an aborted batch)."""
        self._set.pending.clear()

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
        at once; the whole batch is validated before anything is recorded.

        Raises
        ------
        InputDataError
            Not a list of dicts, missing keys, an unknown id, a non-numeric or
            infinite value, a NaN value with ``nan_policy="raise"``.
        """
        t0 = time.perf_counter()
        checked = self._set.parse_points(
            points, self._objectives.check_value, self._config["nan_policy"] == "raise"
        )
        self._data.add(checked)
        for i, _ in checked:
            self._set.mark_measured(i)
        if checked:
            self._dirty = True
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
        n = len(self._data.ids)
        if arr.shape[:1] != (n,):
            raise InputDataError(f"need {n} values (one per ingested point), got shape {arr.shape}")
        self._data.replace([self._objectives.check_value(v) for v in arr])
        self._calibration.reset()  # forecasts were of the old targets
        self._dirty = True

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
                f"no candidate left: {len(set(self._data.ids))} measured, "
                f"{int(self._set.excluded.sum())} excluded, {len(self._set.pending)} pending"
            )
        rng = self._decision_rng(0)
        fit = self._ensure_model()
        t1 = time.perf_counter()
        if fit.posterior is None:
            ids = self._model_free(available, q, rng, fit.phase)
            scores = [float("nan")] * len(ids)
        else:
            ids, scores = self._policy.choose(self._context(available, rng), q)
            self._calibration.forecast_posterior(ids, fit.posterior)
        self._set.pending.update(ids)
        _, y = self._train_data()
        timings = {"ingest": self._ingest_time, "acquire": time.perf_counter() - t1}
        self.last_decision = fit.decision(
            ids,
            scores,
            y,
            step=self._step,
            policy=self._policy.spec,
            n_measured=len(self._data.ids),
            timings=timings,
            refitted=self._refitted,
            posterior=None
            if fit.posterior is None
            else self._calibration.for_policy(fit.posterior),
        )
        self.last_decision["variance_factor"] = self._calibration.factor
        self._ingest_time = 0.0
        self._refitted = False
        self._step += 1
        return [self._set.point(i) for i in ids]

    # -- model outputs ------------------------------------------------------------------------
    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the objective at every candidate, each (N,).

        In the units of the ingested values. Before ``min_train`` valid points (or
        when no model could be fitted) a flat prior: the mean and variance of the
        valid values so far (0 and 1 with none).
        """
        post = self._ensure_model().posterior
        if post is not None:
            post = self._calibration.apply(post)
            return post.mean.copy(), post.var.copy()
        y = self._train_data()[1]
        mu = float(y.mean()) if y.size else 0.0
        var = float(y.var()) if y.size > 1 and y.var() > 0 else 1.0
        n = len(self.features)
        return np.full(n, mu), np.full(n, var)

    def acquisition(self) -> np.ndarray:
        """Return the policy's score of every candidate for the next decision, (N,).

        NaN where nothing can be suggested (measured, excluded, pending) and
        everywhere before the model is used (seed phase).
        """
        n = len(self.features)
        if self._ensure_model().posterior is None:
            return np.full(n, np.nan)
        available = self._set.available()
        with models.torch_threads(self._threads):
            scores = self._policy.score(self._context(available, self._decision_rng(0)))
        return np.where(available, np.asarray(scores, dtype=float), np.nan)

    def embed(self) -> np.ndarray | None:
        """Return the model's embedding of every candidate, (N, d) (``None`` before a fit)."""
        fit = self._ensure_model()
        if fit.model is None:
            return None
        return fit.model.embed(self._inputs(fit.model))

    def should_stop(self) -> str | None:
        """Return why the experiment should stop, or ``None`` to go on.

        Reasons: ``"exhausted"``, ``"budget"``, ``"uncertainty"``, ``"no_improvement"``
        (see :mod:`autoscope._stopping`).
        """
        available = self._set.available(include_pending=True)
        max_std = None
        if self._stop.std_below is not None and available.any():
            post = self._ensure_model().posterior
            if post is not None:
                post = self._calibration.apply(post)
                max_std = float(np.sqrt(post.var[available].max()))
        return self._stop.check(
            n_measured=len(self._data.ids),
            n_available=int(available.sum()),
            objective=self.objective,
            max_std=max_std,
        )

    # -- internals ----------------------------------------------------------------------------
    @property
    def _threads(self) -> int | None:
        return self._chain.model.params.get("threads")

    def _decision_rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self._step, stream])

    def _check_policy(self, policy: policies.Policy) -> None:
        if "coords" in policy.requires and self._set.coords is None:
            raise InputDataError(f"policy {policy.name!r} needs candidate coordinates")

    def _inputs(self, model: models.GPSurrogate) -> np.ndarray:
        if model.input_kind not in ("coords", "features+coords"):
            return self.features
        coords = self._set.coords
        if coords is None:
            raise InputDataError(
                f"model {model.name!r} reads candidate coordinates: pass coords= to from_features"
            )
        if model.input_kind == "coords":
            return coords
        if model.input_kind == "features+coords":
            if self._with_coords is None:
                flat = self.features.reshape(self.features.shape[0], -1)
                self._with_coords = np.concatenate([flat, coords.astype(flat.dtype)], axis=1)
            model.feature_shape = tuple(self.features.shape[1:])
            return self._with_coords
        return self.features

    def _train_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self._data.train_data(self._decision_rng(3))

    def _ensure_model(self) -> FitOutcome:
        """Refit the model chain when the data changed; return the outcome."""
        spec = self._objectives.spec
        if spec is not None and spec["method"] == "parego" and self._fit_step != self._step:
            self._dirty = True  # new random weights at every decision
        # "refitted since the last decision": a predict() between decisions (the plan's
        # maps) may have done the fit this decision uses; its time still counts here
        self._refitted = self._refitted or self._dirty
        if self._dirty:
            self._fit_step = self._step
            ids, y = self._train_data()
            if spec is None or spec["method"] != "parego":  # parego: a new objective each time
                self._calibration.observe(ids, y)
            self._fit = self._chain.fit(self._inputs, ids, y, self.min_train)
            self._dirty = False
        return self._fit

    def _model_free(self, available, q, rng, phase) -> list[int]:
        strategy = "maxmin" if phase == "maxmin" else self._config["seed_strategy"]
        if strategy == "random":
            return random_pick(available, q, rng)
        where = self._set.coords if self._set.coords is not None else self.features
        return maxmin_pick(where, np.asarray(self._data.ids, dtype=np.int64), available, q, rng)

    def _context(self, available: np.ndarray, rng: np.random.Generator) -> policies.DecisionContext:
        fitted = self._fit.posterior
        if fitted is None:
            raise ModelFittingError("no fitted posterior to decide on")
        post = self._calibration.for_policy(fitted)
        return policies.DecisionContext(
            mean=post.mean,
            var=post.var,
            observed=self._train_data()[1],
            available=available,
            rng=rng,
            noise=post.noise,
            posterior=post,
            coords=self._set.coords,
            last=self._set.last_position(self._data.ids),
            dwell=self._set.dwell,
        )
