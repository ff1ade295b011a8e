"""How one fit trains a surrogate: the update path chosen, escalating attempts, the GP cache.

:func:`fit_step` decides whether a fit trains or only conditions the GP on the new points
(the fast path of :mod:`autoscope.models._update`); :func:`fit_with_fallbacks` trains with
escalating jitter, then restored or fresh weights and smaller steps, and as a last resort
keeps the previous weights conditioned on the new data.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from autoscope.errors import ModelFittingError
from autoscope.models._background import background_step
from autoscope.models._sliced import BACKGROUND, advance_shadow, start_shadow
from autoscope.models._training import JITTERS, recorded_numerical_warnings
from autoscope.models._update import FIT_ERRORS, condition, train_trigger

if TYPE_CHECKING:
    from autoscope.models._base import GPSurrogate

__all__ = ["fit_step", "fit_with_fallbacks"]


def fit_step(model: GPSurrogate, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Train ``model`` on checked ``x`` (n, ...), ``y`` (n,), or only condition it.

    Returns the fit report of :meth:`GPSurrogate.fit <autoscope.models.GPSurrogate.fit>`
    without ``seconds``.
    """
    trigger = train_trigger(model, x, y)
    fast = model._schedule.fast
    if model._params.get("refit_lag", 0) > 0:  # retrains in the trainer thread
        report = background_step(model, x, y, trigger)
    elif trigger in BACKGROUND and model._params["refit_slice"] > 0:
        if model._shadow is None and (fast or trigger == "reinit"):
            model._shadow = start_shadow(model, x, y, trigger)
        trigger = None if fast else "schedule"  # without the fast path: warm fits go on
        report = condition(model, x, y) if trigger is None else trigger
    else:
        report = condition(model, x, y) if trigger is None else trigger
    if isinstance(report, str):
        xt = model._tensor(model._transform(x))
        yt = model._standardize(y)
        trigger, report = report, model._fit(xt, yt, tuple(x.shape[1:]))
        model._since_train, model._n_at_train = 0, len(y)
        report.update({"update": "train", "trigger": trigger})
        if trigger != "schedule":  # new data or a failure: the retrain is outdated
            model._shadow = model._background = None
    else:
        model._since_train += 1
    if model._shadow is not None:
        advance_shadow(model, x, y, report)
    if model._schedule.fast:  # the next fit checks that it only adds points
        model._train_xy = (x.copy(), y.copy())
    return report


def fit_with_fallbacks(
    model: GPSurrogate, xt: torch.Tensor, yt: torch.Tensor, in_shape: tuple[int, ...]
) -> dict[str, Any]:
    """Train ``model`` on standardised ``xt`` (n, D), ``yt`` (n,) for raw inputs ``in_shape``.

    Returns
    -------
    dict
        ``loss``, ``iterations``, ``reinit``, ``attempts``, ``failures``,
        ``jitter_warnings``, ``stale`` (the previous weights were kept).

    Raises
    ------
    ModelFittingError
        Every attempt failed and there is no previous model to fall back on.
    """
    reinit = model._needs_reinit(in_shape)
    n_iter = model._params["n_iter"] if reinit else model._params["warm_iter"]
    snapshot = None if reinit else copy.deepcopy(model._fitted_module().state_dict())
    failures: list[str] = []
    warn: list[str] = []
    lr_scale, fresh = 1.0, reinit
    for attempt in range(model._params["max_attempts"]):
        jitter = JITTERS[min(attempt, len(JITTERS) - 1)]
        try:
            with recorded_numerical_warnings(warn):
                if fresh:
                    model.module = model._build(xt, yt, in_shape, attempt)
                    model._in_shape, model._last_reinit = in_shape, model.n_fits
                module = model._fitted_module()
                if not fresh:
                    module.set_train_data(xt, yt, strict=False)  # type: ignore[operator]  # untyped gpytorch
                loss, iters = model._train(module, xt, yt, n_iter, lr_scale, jitter)
                model._condition(xt, yt)
            return {
                "loss": loss,
                "iterations": iters,
                "reinit": fresh,
                "attempts": attempt + 1,
                "failures": failures,
                "jitter_warnings": len(warn),
                "stale": False,
            }
        except FIT_ERRORS as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            lr_scale *= 0.3
            if snapshot is not None and attempt == 0:
                # previous weights, smaller steps
                model._fitted_module().load_state_dict(snapshot)
            else:
                fresh, n_iter = True, model._params["n_iter"]
    if snapshot is not None:  # last resort: previous weights, conditioned on the new data
        try:
            with recorded_numerical_warnings(warn):
                module = model._fitted_module()
                module.load_state_dict(snapshot)
                module.set_train_data(xt, yt, strict=False)  # type: ignore[operator]  # untyped gpytorch
                model._condition(xt, yt)
            return {
                "loss": float("nan"),
                "iterations": 0,
                "reinit": False,
                "attempts": model._params["max_attempts"],
                "failures": failures,
                "jitter_warnings": len(warn),
                "stale": True,
            }
        except FIT_ERRORS as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    model.module, model._cache = None, None
    raise ModelFittingError(
        f"{type(model).__name__}: every fit attempt failed: " + "; ".join(failures)
    )
