"""Retrains sliced over decisions on a copy of the model (``refit_slice > 0``).

A due retrain does not run inside one decision: a copy of the served module (a fresh
one for a re-initialisation) advances ``refit_slice`` Adam steps per fit, on all the data
of that fit, and replaces the served model once its ``warm_iter`` (``n_iter``) steps are
done. Meanwhile the served model is only conditioned (the fast path,
:mod:`autoscope.models._update`) or warm-fitted as usual (``refit_every = 1``). The
thread-based alternative is :mod:`autoscope.models._background`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from autoscope.models._update import FIT_ERRORS, standardisation

__all__ = ["BACKGROUND", "Shadow", "advance_shadow", "start_shadow"]


#: triggers that a sliced retrain handles in the background
BACKGROUND = ("schedule", "growth", "reinit")


@dataclass
class Shadow:
    """A retrain in progress on a copy of the model's GP module (``refit_slice > 0``).

    Attributes
    ----------
    module
        The module being trained (a copy of the served one, or a fresh one for a reinit).
    left : int
        Adam steps still to run.
    reinit : bool
        Whether it started from fresh weights.
    trigger : str
        Why it was started (:data:`BACKGROUND`).
    """

    module: Any
    left: int
    reinit: bool
    trigger: str


def start_shadow(model: Any, x: np.ndarray, y: np.ndarray, trigger: str) -> Shadow:
    """Start a retrain of ``model`` in the background: a fresh module for a reinit, else a copy."""
    p = model._params
    if trigger == "reinit":
        xt, yt, _, _ = _standardised(model, x, y)
        module = model._build(xt, yt, tuple(x.shape[1:]), 0)
        model._last_reinit = model.n_fits
        return Shadow(module, p["n_iter"], True, trigger)
    return Shadow(copy.deepcopy(model.module), p["warm_iter"], False, trigger)


def advance_shadow(model: Any, x: np.ndarray, y: np.ndarray, report: dict[str, Any]) -> None:
    """Run the next ``refit_slice`` Adam steps of the retrain; promote it when it is done.

    The steps train on all the data of this fit. On promotion the trained module replaces
    the served one, the targets are re-standardised and the GP re-conditioned
    (``report["update"] = "promote"``). A failure drops the retrain (the served model
    stays) and is recorded in ``report["failures"]``.
    """
    sh = model._shadow
    steps = min(model._params["refit_slice"], sh.left)
    xt, yt, loc, scale = _standardised(model, x, y)
    try:
        sh.module.set_train_data(xt, yt, strict=False)
        loss, _ = model._train(sh.module, xt, yt, steps, 1.0, None)
    except FIT_ERRORS as exc:
        report["failures"].append(f"background retrain: {type(exc).__name__}: {exc}")
        model._shadow = None
        return
    sh.left -= steps
    report["iterations"] = report.get("iterations", 0) + steps
    report["background"] = {"left": sh.left, "reinit": sh.reinit, "trigger": sh.trigger}
    if sh.left > 0:
        return
    served = (model.module, model._y_loc, model._y_scale)
    try:
        model.module, model._y_loc, model._y_scale = sh.module, loc, scale
        model._condition(xt, yt)
    except FIT_ERRORS as exc:
        model.module, model._y_loc, model._y_scale = served
        report["failures"].append(f"background retrain: {type(exc).__name__}: {exc}")
    else:
        model._since_train, model._n_at_train = 0, len(y)
        report.update(update="promote", trigger=sh.trigger, loss=loss, reinit=sh.reinit)
    model._shadow = None


def _standardised(model: Any, x: np.ndarray, y: np.ndarray):
    loc, scale = standardisation(y)
    xt = model._tensor(model._transform(x))
    return xt, model._tensor((y - loc) / scale), loc, scale
