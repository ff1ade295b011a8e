"""The recommender's model with its fallbacks: fit the first one that works, never crash.

The chain is the configured model followed by ``fallback`` entries (model specs,
then ``"maxmin"``). At each refit the main model is tried first; if it raises
anything but an input error, the next one is fitted, and ``"maxmin"`` ends the chain
with no model at all (the recommender then explores by max-min distance).
Fallback models are built once and kept, so they warm-start too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope import models
from autoscope.errors import InputDataError, ModelFittingError
from autoscope.recommender.candidates import json_float

__all__ = ["FitOutcome", "ModelChain", "check_fit", "with_seed"]

#: a posterior mean farther than this many data spans from the data is absurd
ABSURD_SPANS = 1e6


def with_seed(spec: Any, seed: int) -> Any:
    """Return the model spec with the recommender's seed unless it sets one."""
    if isinstance(spec, models.GPSurrogate):
        return spec
    built = models.from_spec(spec)
    if isinstance(spec, Mapping) and "seed" in (spec.get("params") or {}):
        return built.spec
    return {"name": built.spec["name"], "params": dict(built.spec["params"], seed=seed)}


@dataclass
class FitOutcome:
    """What one refit produced.

    ``phase`` is ``"seed"`` (too little data), ``"model"``, ``"fallback"`` or
    ``"maxmin"``; ``posterior`` is ``None`` unless a model was fitted.
    """

    phase: str = "seed"
    posterior: models.CandidatePosterior | None = None
    model: models.GPSurrogate | None = None
    report: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"train": 0.0, "predict": 0.0})

    def decision(
        self,
        ids: list[int],
        scores: Sequence[float],
        y: np.ndarray,
        *,
        step: int,
        policy: dict[str, Any],
        n_measured: int,
        timings: dict[str, float],
        refitted: bool,
        posterior: models.CandidatePosterior | None = None,
    ) -> dict[str, Any]:
        """Return the recommender's ``last_decision`` record (JSON) for picks ``ids``.

        ``y`` are the finite training values; ``timings`` the ingest and acquire
        times (s); train/predict times count only when this decision refitted.
        ``posterior`` is the one the policy decided on (default: the model's own);
        ``mean`` and ``std`` are taken from it.
        """
        rep = self.report
        post = self.posterior if posterior is None else posterior
        times = dict(self.timings) if refitted else {"train": 0.0, "predict": 0.0}
        times.update(timings)
        times["total"] = sum(times.values())
        return {
            "step": step,
            "ids": [int(i) for i in ids],
            "phase": self.phase,
            "policy": policy,
            "acquisition": [json_float(s) for s in scores],
            "mean": None if post is None else [json_float(post.mean[i]) for i in ids],
            "std": None if post is None else [json_float(np.sqrt(post.var[i])) for i in ids],
            "model": None if self.model is None else self.model.name,
            "model_version": None if self.model is None else self.model.n_fits,
            "train_loss": json_float(rep.get("loss")),
            "iterations": rep.get("iterations", 0),
            "reinit": rep.get("reinit", False),
            # the fast update path's schedule: "train" or "condition" (per member, joined)
            "update": rep.get("update"),
            "update_trigger": rep.get("trigger"),
            "fit_failures": self.failures + list(rep.get("failures", [])),
            "n_train": int(len(y)),
            "n_measured": n_measured,
            "best_value": json_float(y.max()) if len(y) else None,
            "timings": times,
            "structure_share": json_float(getattr(self.model, "structure_share", None)),
        }


class ModelChain:
    """The main model and its fallbacks.

    Parameters
    ----------
    model : str, dict or GPSurrogate
        The main model.
    fallback : sequence
        Model specs and/or ``"maxmin"``.
    seed : int
        Given to every spec that does not set its own.
    has_coords : bool
        Whether candidate coordinates exist (``gp_coords`` needs them).
    """

    def __init__(self, model: Any, fallback: Sequence[Any], seed: int, has_coords: bool):
        self.seed, self.has_coords = seed, has_coords
        self.model = self.build(with_seed(model, seed))
        if isinstance(fallback, str) or not isinstance(fallback, Sequence):
            raise InputDataError(
                f"fallback must be a list of model specs/'maxmin', got {fallback!r}"
            )
        self.fallback: list[Any] = []
        for f in fallback:
            self.fallback.append(f if f == "maxmin" else self.build(with_seed(f, seed)))

    def build(self, spec: Any) -> models.GPSurrogate:
        """Build a model from ``spec``, checking that its inputs exist."""
        model = models.from_spec(spec)
        if model.input_kind in ("coords", "features+coords") and not self.has_coords:
            raise InputDataError(f"model {model.name!r} needs candidate coordinates")
        return model

    def set_model(self, spec: Any) -> None:
        """Replace the main model (a fresh, unfitted one)."""
        self.model = self.build(with_seed(spec, self.seed))

    @property
    def specs(self) -> dict[str, Any]:
        """``{"model": spec, "fallback": [...]}`` (JSON)."""
        fb = [f if f == "maxmin" else f.spec for f in self.fallback]
        return {"model": self.model.spec, "fallback": fb}

    def fit(
        self,
        inputs: Callable[[models.GPSurrogate], np.ndarray],
        ids: np.ndarray,
        y: np.ndarray,
        min_train: int,
    ) -> FitOutcome:
        """Fit the first model of the chain that works and predict every candidate.

        Parameters
        ----------
        inputs : callable
            ``inputs(model)`` returns that model's inputs for all N candidates.
        ids, y : ndarray, shape (n,)
            Training candidates and their finite objective values.
        min_train : int
            Below this many points nothing is fitted (``phase="seed"``).
        """
        out = FitOutcome()
        if len(ids) < min_train:
            return out
        t0 = time.perf_counter()
        for k, model in enumerate([self.model, *self.fallback]):
            if model == "maxmin":
                out.phase = "maxmin"
                break
            try:
                x_all = inputs(model)
                if not model.prepared:
                    model.prepare(x_all)
                report = model.fit(x_all[ids], y)
                t1 = time.perf_counter()
                post = model.posterior(x_all)
                check_fit(post, report, y)
                out.posterior = post
                out.timings = {"train": t1 - t0, "predict": time.perf_counter() - t1}
                out.phase, out.model, out.report = (
                    ("model" if k == 0 else "fallback"),
                    model,
                    report,
                )
                return out
            except InputDataError:
                raise
            except Exception as exc:  # noqa: BLE001 - a run must go on; the failure is recorded
                out.failures.append(f"{model.name}: {type(exc).__name__}: {exc}")
        out.timings = {"train": time.perf_counter() - t0, "predict": 0.0}
        return out


def check_fit(post: models.CandidatePosterior, report: Mapping[str, Any], y: np.ndarray) -> None:
    """Refuse a fit whose loss or posterior cannot be trusted.

    Refused: a non-finite training loss (when it trained: a fit conditioned by the fast
    update path — even while a sliced retrain advances on a copy — or one that kept its
    previous weights, reports no loss); a non-finite
    posterior mean, variance or noise; a variance below zero (beyond round-off); a mean
    farther from the data's median, or a standard deviation larger, than
    :data:`ABSURD_SPANS` times the data's scale (their spread, or their magnitude; e.g.
    values near 1e300 that overflow the model's standardisation).

    Raises
    ------
    ModelFittingError
        Naming what is wrong; the chain then tries its next model.
    """
    loss = report.get("loss")
    # conditioned (its sliced retrain's steps on a copy do not count) or kept weights: no loss
    served = str(report.get("update", "train")).split("+")
    trained = bool(report.get("iterations", 1)) and served != ["condition"]
    if trained and loss is not None and not np.isfinite(float(loss)):
        raise ModelFittingError(f"training loss is {loss}")
    mean, var = np.asarray(post.mean, dtype=float), np.asarray(post.var, dtype=float)
    with np.errstate(all="ignore"):
        if not (np.isfinite(mean).all() and np.isfinite(var).all()):
            raise ModelFittingError("the posterior is not finite")
        if not np.isfinite(float(post.noise)) or float(post.noise) < 0:
            raise ModelFittingError(f"the noise variance is {post.noise}")
        centre = float(np.median(y)) if len(y) else 0.0
        spread = float(np.ptp(y)) if len(y) else 0.0
        scale = max(spread, abs(centre)) or 1.0
        if (var < -1e-6 * scale**2).any():
            raise ModelFittingError(f"negative posterior variance ({var.min():.3g})")
        far = float(np.abs(mean - centre).max(initial=0.0))
        big = float(np.sqrt(var.max(initial=0.0)))
        if not np.isfinite(scale) or max(far, big) > ABSURD_SPANS * scale:
            raise ModelFittingError(
                f"absurd posterior: mean up to {far:.3g} from the data's median {centre:.3g}, "
                f"std up to {big:.3g} (data spread {spread:.3g})"
            )
