"""DKLRecommender: candidate set + surrogate model + acquisition policy; suggest/ingest.

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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.features import extract_patches, standardize_features
from autoscope.recommender.base import CandidateRecommender

__all__ = ["DKLRecommender"]

_FALLBACK = ("pca_gp", "maxmin")


class DKLRecommender(CandidateRecommender):
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
        Several values per point and how to scalarise them
        (:mod:`autoscope.recommender.objectives`).
    stop : dict, optional
        Stopping criteria (:mod:`autoscope.recommender.stopping`), read by
        :meth:`should_stop`.
    min_train : int
        Valid measurements needed before the model is used; before that
        ``seed_strategy`` picks (``"random"`` or ``"maxmin"``).
    seed_strategy : {"random", "maxmin"}
        How points are picked before a model is used.
    fallback : sequence
        What to use when the model cannot be fitted (or gives a non-finite or absurd
        posterior), in order: model names/specs and ``"maxmin"`` (max-min-distance
        exploration, cannot fail).
    nan_policy : {"skip", "raise"}
        A NaN value is recorded (the point counts as measured and is never suggested
        again) but left out of training (``"skip"``), or rejected (``"raise"``).
    calibration : {"reported", "prequential", "none"}
        Widen the posterior variance by the model's mean squared forecast z-score on the
        last 25 measured suggestions (:mod:`autoscope.recommender.calibration`):
        ``"reported"`` (default) in what :meth:`predict` returns and :meth:`should_stop`
        reads, while the policy decides on the model's own posterior; ``"prequential"``
        for the policy too (it then explores more); ``"none"`` nowhere.

    Notes
    -----
    ``mask`` .. ``calibration`` are shared with :meth:`from_features`.
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
        mask: np.ndarray | None = None,
        excluded: Sequence[int] | None = None,
        objectives: Mapping[str, Any] | None = None,
        stop: Mapping[str, Any] | None = None,
        min_train: int = 2,
        seed_strategy: str = "random",
        fallback: Sequence[Any] = _FALLBACK,
        nan_policy: str = "skip",
        calibration: str = "reported",
    ):
        patches, centres = extract_patches(image, patch_size, stride, normalize=normalize)
        self._config: dict[str, Any] = {
            "patch_size": int(patch_size),
            "stride": int(stride),
            "normalize": normalize,
        }
        self._image_shape: tuple[int, int] | None = tuple(np.shape(image)[:2])  # type: ignore[assignment,unused-ignore]
        self._setup(
            patches, centres, policy, seed, model, mask=mask, excluded=excluded,
            objectives=objectives, stop=stop, min_train=min_train, seed_strategy=seed_strategy,
            fallback=fallback, nan_policy=nan_policy, calibration=calibration,
        )  # fmt: skip

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
        mask: np.ndarray | None = None,
        excluded: Sequence[int] | None = None,
        objectives: Mapping[str, Any] | None = None,
        stop: Mapping[str, Any] | None = None,
        min_train: int = 2,
        seed_strategy: str = "random",
        fallback: Sequence[Any] = _FALLBACK,
        nan_policy: str = "skip",
        calibration: str = "reported",
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
        mask, excluded, objectives, stop, min_train, seed_strategy
            As for :class:`DKLRecommender` (a mask is (N,) here).
        fallback, nan_policy, calibration
            As for :class:`DKLRecommender`.
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
        self._setup(
            feats, coords, policy, seed, model, mask=mask, excluded=excluded,
            objectives=objectives, stop=stop, min_train=min_train, seed_strategy=seed_strategy,
            fallback=fallback, nan_policy=nan_policy, calibration=calibration,
        )  # fmt: skip
        return self
