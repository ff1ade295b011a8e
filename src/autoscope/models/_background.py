"""Retrains in a background thread, swapped in a fixed number of fits later (``refit_lag``).

On the fast update path (``refit_every > 1``) a due retrain normally runs inside the
decision where it is due (or in slices, ``refit_slice``). With ``refit_lag = k >= 1`` it
runs instead on a copy of the model (a fresh module for a re-initialisation) in the
model's *trainer* thread, beside the decisions: the copy trains on the data of the
fit that started it, then computes its training factor and its posterior over the
candidates (the feature map over every candidate: the costly part on a large grid). The
served model meanwhile is only conditioned on each new point. At the ``k``-th fit after
the start (``k * ceil(n_iter / warm_iter)`` for a re-initialisation, which trains that
much longer) the copy is *promoted*: it replaces the served model and is conditioned on
the points that arrived while it trained (the block Cholesky extension of
:mod:`autoscope.models._update`), so a promotion costs a decision what a conditioning
costs. If the copy has not finished by then, that fit waits for it (``waited_s`` in the
report): the swap always happens at the same fit, so a run is reproduced exactly by
replaying its data, whatever the machine's speed.

Each model has one trainer thread, which runs its retrains one after the other (a
committee's members each have their own, so the small GP on the coordinates never queues
behind the deep kernel's re-initialisation). torch's intra-op thread count is per thread; the
trainer sets the model's own. Warnings raised while training in the background are not
collected into a fit report (``warnings.catch_warnings`` is process-wide and not safe
beside the decisions' own); a failed background retrain is dropped, the served model
stays, and the failure is recorded in the report of the fit that would have promoted it.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from autoscope.models._update import (
    CandidateCache,
    condition,
    posterior_cache,
    standardisation,
)

__all__ = ["Background", "background_step", "release", "trainer"]

#: the longest a started retrain waits for its decision to finish before training anyway
GATE_TIMEOUT_S = 1.0

_TRAINERS: weakref.WeakKeyDictionary[Any, ThreadPoolExecutor] = weakref.WeakKeyDictionary()


def trainer(model: Any) -> ThreadPoolExecutor:
    """Return ``model``'s trainer thread (created on first use, gone with the model)."""
    pool = _TRAINERS.get(model)
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoscope-retrain")
        _TRAINERS[model] = pool
    return pool


@dataclass
class Trained:
    """What a background retrain hands back: the module and everything a swap needs."""

    module: Any
    loss: float
    iterations: int
    cache: dict[str, torch.Tensor]
    candidates: CandidateCache | None
    seconds: float


@dataclass
class Background:
    """A retrain running in the trainer thread.

    Attributes
    ----------
    future : Future
        Resolves to :class:`Trained` (or raises what the retrain raised).
    data : (ndarray, ndarray)
        The raw inputs and targets it trains on (``n0`` points).
    loc, scale : float
        Their standardisation (kept by the promoted model, as a conditioned one keeps its).
    promote_at : int
        The ``n_fits`` at which it replaces the served model.
    reinit, trigger
        From fresh weights; why it was started.
    started_fit : int
    gate : threading.Event
        Set when the decision that started it is done (:func:`release`): training then
        begins, so the trainer does not compete with that decision for the interpreter.
    """

    future: Future
    data: tuple[np.ndarray, np.ndarray]
    loc: float
    scale: float
    promote_at: int
    reinit: bool
    trigger: str
    started_fit: int
    gate: threading.Event = field(default_factory=threading.Event)


def start(model: Any, x: np.ndarray, y: np.ndarray, trigger: str) -> Background:
    """Start a retrain of ``model`` on ``(x, y)`` in its trainer thread.

    A re-initialisation's fresh module is built here, in the caller's thread (seeding
    touches torch's global random state); a warm retrain's copy of the served module is
    made in the trainer thread (the fits in between only replace the served module's
    training data, which the copy replaces too, and never touch its weights).
    """
    p = model._params
    loc, scale = standardisation(y)
    x, y = x.copy(), y.copy()
    reinit = trigger == "reinit"
    module = None
    if reinit:
        xt = model._tensor(model._transform(x))
        module = model._build(xt, model._tensor((y - loc) / scale), tuple(x.shape[1:]), 0)
        model._last_reinit = model.n_fits
    steps = p["n_iter"] if reinit else p["warm_iter"]
    lag = p["refit_lag"] * (max(1, math.ceil(steps / max(p["warm_iter"], 1))) if reinit else 1)
    cand = model._candidates
    job = _Job(model, module or model.module, module is None, x, (y - loc) / scale, steps,
               None if cand is None else cand.x, threading.Event())  # fmt: skip
    future = trainer(model).submit(_train, job)
    return Background(
        future, (x, y), loc, scale, model.n_fits + lag, reinit, trigger, model.n_fits, job.gate
    )


@dataclass
class _Job:
    model: Any
    module: Any
    copy: bool
    x: np.ndarray
    y_std: np.ndarray
    steps: int
    cand_x: Any
    gate: threading.Event


def release(model: Any) -> None:
    """Let ``model``'s started retrain begin: its decision is done (called after a posterior)."""
    bg = model._background
    if bg is not None:
        bg.gate.set()


def _train(job: _Job) -> Trained:
    """Train the job's module (trainer thread); evaluate its factor and candidate posterior."""
    job.gate.wait(GATE_TIMEOUT_S)
    t0 = time.perf_counter()
    model = job.model
    threads = model._params["threads"]
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)  # per thread: the decisions' setting is untouched
    module = copy.deepcopy(job.module) if job.copy else job.module
    xt, yt = model._tensor(model._transform(job.x)), model._tensor(job.y_std)
    module.set_train_data(xt, yt, strict=False)
    loss, iters = model._train(module, xt, yt, job.steps, 1.0, None)
    cache = posterior_cache(module, xt, yt)
    cand = None
    if job.cand_x is not None:
        ct = model._tensor(model._transform(np.asarray(job.cand_x)))
        cand = CandidateCache.build(
            job.cand_x, -1, module.feature_map, module.covar_module, ct, cache
        )
    return Trained(module, loss, iters, cache, cand, time.perf_counter() - t0)


def promote(model: Any, bg: Background, x: np.ndarray, y: np.ndarray) -> dict[str, Any] | str:
    """Swap the finished retrain in and condition it on the points since it started.

    Waits for the retrain if it is still running. Returns the fit report, or a failure
    message (the served model is then left as it was).
    """
    t0 = time.perf_counter()
    bg.gate.set()
    try:
        done: Trained = bg.future.result()
    except Exception as exc:  # noqa: BLE001 - any failure of the copy leaves the served model
        return f"background retrain: {type(exc).__name__}: {exc}"
    waited = time.perf_counter() - t0
    served = (
        model.module, model._y_loc, model._y_scale, model._cache, model._candidates,
        model._train_xy, model._version,
    )  # fmt: skip
    model.module, model._y_loc, model._y_scale = done.module, bg.loc, bg.scale
    model._cache, model._train_xy = done.cache, bg.data
    model._version += 1
    model._candidates = None
    if done.candidates is not None:
        done.candidates.version = model._version
        model._candidates = done.candidates
    report = condition(model, x, y, check_surprise=False)
    if isinstance(report, str):  # put the served model back
        (model.module, model._y_loc, model._y_scale, model._cache, model._candidates,
         model._train_xy, model._version) = served  # fmt: skip
        return f"background retrain: conditioning the promoted model {report}"
    report.update(
        update="promote",
        trigger=bg.trigger,
        loss=done.loss,
        iterations=done.iterations,
        reinit=bg.reinit,
        background={
            "started_fit": bg.started_fit,
            "trained_on": len(bg.data[1]),
            "train_s": done.seconds,
            "waited_s": waited,
        },
    )
    return report


def background_step(model: Any, x: np.ndarray, y: np.ndarray, trigger: str | None):
    """One fit with ``refit_lag > 0``: promote, start or condition; else the trigger to train.

    ``trigger`` is :func:`~autoscope.models._update.train_trigger`'s. Returns the fit
    report, or the trigger of a synchronous training (``"first"``, ``"data"``,
    ``"failed"``, ``"surprise"``), after which any retrain in flight is dropped.
    """
    failures: list[str] = []
    bg: Background | None = model._background
    if trigger not in ("first", "data") and bg is not None and model.n_fits >= bg.promote_at:
        model._background = None
        report = promote(model, bg, x, y)
        if isinstance(report, dict):
            return report
        failures.append(report)
    if trigger in ("schedule", "growth", "reinit"):
        if model._background is None:
            model._background = start(model, x, y, trigger)
            model._since_train, model._n_at_train = -1, len(y)  # counted from this fit on
        trigger = None
    if trigger is not None:
        model._background = None  # new data or a failure: the retrain in flight is outdated
        return trigger
    report = condition(model, x, y)
    if isinstance(report, str):  # a failed or surprising conditioning: train now instead
        model._background = None
    else:
        report["failures"] = failures + report["failures"]
        if model._background is not None:
            bg = model._background
            report["background"] = {
                "started_fit": bg.started_fit,
                "promote_at": bg.promote_at,
                "reinit": bg.reinit,
                "trigger": bg.trigger,
            }
    return report
