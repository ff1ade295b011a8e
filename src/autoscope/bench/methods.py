"""Benchmark methods: how each one chooses the next candidate, and one closed-loop run of it.

A method is either a :class:`~autoscope.recommender.DKLRecommender` configuration (model
spec + policy spec) driven in-process against ``task.measure``, or a model-free order
(random, raster). Every run of a given seed starts from the same ``n_seed`` random
candidates (the first ``n_seed`` of one seeded permutation), so methods are compared
pairwise; the random baseline is that permutation continued.

A recommender run is the plan's own loop, :class:`~autoscope.recommender.ExplorationSession`,
fed the task's ``measure`` instead of an instrument. What a run records
(:class:`RunResult`): the measured ids in order, the measured values,
per decision the wall and CPU time of ``ingest`` (of the last measurement) + the decision
(training, predicting every candidate, acquisition) and the process's peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes torch's allocations,
unlike ``tracemalloc``), and the final predicted map (the model's posterior mean, or
nearest-neighbour interpolation of the measurements for model-free methods).
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from autoscope.bench.metrics import nearest_neighbour_map
from autoscope.bench.tasks import Task
from autoscope.errors import AutoscopeError, InputDataError
from autoscope.recommender.session import DEFAULT_MAX_FAILURES, ExplorationSession

__all__ = [
    "ATOMAI",
    "METHODS",
    "Method",
    "RunResult",
    "initial_order",
    "raster_order",
    "run_method",
]


@dataclass(frozen=True)
class Method:
    """A benchmark method.

    Attributes
    ----------
    name : str
        Registry name.
    title : str
        Table label.
    kind : {"recommender", "random", "raster", "atomai"}
        ``"atomai"``: atomai's own ``dklGPR`` (:mod:`autoscope.bench.atomai_ref`).
    model, policy : str or dict or None
        Model and policy specs for a ``"recommender"`` method.
    options : dict
        Further :class:`~autoscope.recommender.DKLRecommender` options (for
        ``"atomai"``: :class:`~autoscope.bench.atomai_ref.AtomaiDKL`'s ``epochs``).
    note : str
        What the row shows.
    """

    name: str
    title: str
    kind: str
    model: Any = None
    policy: Any = None
    note: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _m(name: str, title: str, model: Any, policy: Any, note: str, **options: Any) -> Method:
    return Method(name, title, "recommender", model, policy, note, options)


#: Every method, in table order.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _m("dkl_ei", "active DKL, EI", "dkl", "ei", "warm-started DKL retrained every step"),
        _m(
            "spatial_dkl_ei",
            "active spatial DKL, EI",
            "spatial_dkl",
            "ei",
            "deep kernel on the patch + kernel on the position + their product "
            "(the default until decision 0010)",
        ),
        _m(
            "spatial_dkl_ei_cal",
            "active spatial DKL, EI, calibrated",
            "spatial_dkl",
            "ei",
            "the same, the policy too sees the variance widened by the forecast errors",
            calibration="prequential",
        ),
        _m(
            "committee_ei",
            "committee (default): spatial DKL + GP on coordinates, EI",
            "committee",
            "ei",
            "equal-weight mixture of the spatial DKL's and a coordinate GP's posteriors: "
            "the recommender's default model",
        ),
        _m("dkl_ucb", "active DKL, UCB", "dkl", "ucb", "same model, upper confidence bound"),
        _m("dkl_maxvar", "active DKL, max-var", "dkl", "maxvar", "pure exploration"),
        _m(
            "dkl_ei_full",
            "active DKL, EI, full retrain",
            {"name": "dkl", "params": {"reinit_every": 1}},
            "ei",
            "fresh weights and n_iter Adam steps every step (no warm start)",
        ),
        _m("static_dkl", "static DKL, EI", "static_dkl", "ei", "DKL trained on the seeds only"),
        _m("vae_bo", "VAE-BO, EI", "vae_gp", "ei", "GP in a VAE latent space of all patches"),
        _m("gp_coords", "GP on coordinates, EI", "gp_coords", "ei", "ignores the image"),
        _m("pca_gp", "PCA-GP, EI", "pca_gp", "ei", "GP on principal components of patches"),
        Method("random", "random", "random", note="uniformly random order"),
        Method("raster", "raster grid", "raster", note="coarse regular grid, row by row"),
    )
}


#: The reference row: atomai 0.8.1's ``dklGPR`` itself, rebuilt and trained 200 epochs per
#: decision (not in :data:`METHODS`: several CPU-seconds per decision; needs the
#: ``reference`` extra).
ATOMAI = Method(
    "atomai",
    "atomai 0.8.1 dklGPR, EI (rebuilt, 200 epochs every step)",
    "atomai",
    note="the published anchor, run through the same loop, seeds and seed points",
)


@dataclass
class RunResult:
    """One closed-loop run of one method on one task and seed (JSON-serialisable).

    Attributes
    ----------
    order : list of int
        Measured candidate ids, in order (``budget`` of them; for random and raster
        the full permutation of all candidates, measured values only for the first
        ``budget``).
    values : list of float
        Measured (noisy) values of the first ``budget`` ids.
    n_train : list of int
        Points ingested at each decision.
    wall, cpu : list of float
        Decision time per decision, s (wall clock, process CPU time).
    phases : dict of list of float
        Per-phase times from ``rec.last_decision`` when it reports them, s.
    rss_mb : list of float
        Process peak RSS after each decision, MiB.
    pred, pred_var : list of float
        Final predicted mean and variance of every candidate (N,) (no variance for
        model-free methods).
    fallbacks : int
        Decisions the recommender did not make with the method's own model (fit
        failure → fallback model or max-min exploration, or a random candidate when
        the recommender failed).
    error : str or None
        Why the run stopped before its budget (the session's stop reason, or an
        error), else None.
    stop_reason : str
        The exploration session's stop reason (``"budget"`` for a full run).
    """

    task: str
    method: str
    seed: int
    order: list[int]
    values: list[float]
    n_train: list[int] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)
    rss_start_mb: float = float("nan")
    pred: list[float] = field(default_factory=list)
    pred_var: list[float] = field(default_factory=list)
    fallbacks: int = 0
    error: str | None = None
    stop_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the run as plain JSON types."""
        return asdict(self)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (``ru_maxrss``)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def initial_order(n: int, seed: int) -> np.ndarray:
    """Return the seeded permutation of ``n`` candidates the seed points are taken from."""
    return np.random.default_rng([int(seed), 0]).permutation(n)


def raster_order(candidates: np.ndarray, budget: int, seed: int) -> np.ndarray:
    """Return a raster-scan order: a coarse regular grid first (row by row), then the next offsets.

    The spacing ``s = ceil(sqrt(N / budget))`` (in candidate-grid steps) makes the
    coarse grid fit in the budget; its offset ``(o_r, o_c)`` in ``[0, s)^2`` is drawn
    from the seed. Candidates are sorted by ``((i - o_r) mod s, (j - o_c) mod s, i, j)``
    with ``(i, j)`` their grid indices, so the order is a full permutation.

    Parameters
    ----------
    candidates : ndarray, shape (N, 2)
    budget : int
    seed : int

    Returns
    -------
    ndarray, shape (N,)
    """
    rows, i = np.unique(candidates[:, 0], return_inverse=True)
    cols, j = np.unique(candidates[:, 1], return_inverse=True)
    n = candidates.shape[0]
    s = max(1, int(np.ceil(np.sqrt(n / max(budget, 1)))))
    o_r, o_c = np.random.default_rng([int(seed), 2]).integers(0, s, size=2)
    return np.lexsort((j, i, (j - o_c) % s, (i - o_r) % s))


def _noise_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), 1])


def _model_free(task: Task, method: Method, seed: int, budget: int) -> RunResult:
    if method.kind == "random":
        order = initial_order(task.n_candidates, seed)
    else:
        order = raster_order(task.candidates, budget, seed)
    rng = _noise_rng(seed)
    measured = order[:budget]
    values = [task.measure(int(c), rng) for c in measured]
    pred = nearest_neighbour_map(task.candidates, measured, values)
    res = RunResult(task.name, method.name, seed, [int(c) for c in order], values)
    res.pred = pred.tolist()
    res.rss_start_mb = peak_rss_mb()
    return res


def run_method(
    task: Task,
    method: Method,
    seed: int,
    *,
    budget: int = 100,
    n_seed: int = 10,
    pace: float = 0.0,
) -> RunResult:
    """Run one method on one task for one seed, closed loop, in this process.

    Parameters
    ----------
    task : Task
    method : Method
    seed : int
        Seeds the seed points, the measurement noise and the recommender.
    budget : int
        Measurements in all, seed points included.
    n_seed : int
        Random measurements before the method decides (``1 <= n_seed <= budget``).
    pace : float
        Seconds the simulated instrument takes per measurement (a sleep after each
        value, outside the timed decision): what a model's background retrains
        (``refit_lag``) get to run beside the instrument. 0: back to back.

    Returns
    -------
    RunResult
        The run is :class:`~autoscope.recommender.ExplorationSession`'s, exactly as
        in :func:`autoscope.plans.dkl_explore`: seeds, then decisions until the
        budget or another stop rule (recorded in ``stop_reason``; a stop before the
        budget also in ``error``); a failed (non-finite) value is kept, never trained
        on, and ``DEFAULT_MAX_FAILURES`` in a row stop the run; a recommender that
        fails is replaced by a random unmeasured candidate for that step, counted in
        ``fallbacks``. Another autoscope error ends the run and is recorded in
        ``error``; anything else propagates. ``cpu`` is the deciding thread's own
        CPU time (``time.thread_time``): a background retrain's is not in it.
    """
    if not (isinstance(pace, int | float) and 0.0 <= pace <= 60.0):
        raise InputDataError(f"pace must be in [0, 60] s, got {pace!r}")
    if not 1 <= n_seed <= budget <= task.n_candidates:
        raise InputDataError(
            f"need 1 <= n_seed <= budget <= N = {task.n_candidates}, got n_seed={n_seed}, "
            f"budget={budget}"
        )
    if method.kind in ("random", "raster"):
        return _model_free(task, method, seed, budget)
    rec: Any
    if method.kind == "atomai":
        from autoscope.bench.atomai_ref import atomai_recommender

        rec = atomai_recommender(task, seed, **method.options)
    else:
        from autoscope.recommender import DKLRecommender

        rec = DKLRecommender(
            task.image,
            patch_size=task.patch_size,
            policy=method.policy,
            seed=seed,
            model=method.model,
            stride=task.stride,
            **method.options,
        )
    cands = np.asarray(rec.candidates)
    if not np.array_equal(cands, task.candidates):
        raise InputDataError(
            f"recommender candidates {cands.shape} differ from the task's {task.candidates.shape}"
        )
    rng = _noise_rng(seed)
    seeds = [int(c) for c in initial_order(task.n_candidates, seed)[:n_seed]]
    session = ExplorationSession(
        rec, task.n_candidates, budget, seed_ids=seeds, max_failures=DEFAULT_MAX_FAILURES,
        rng=np.random.default_rng([int(seed), 3]),
    )  # fmt: skip
    res = RunResult(task.name, method.name, seed, [], [], rss_start_mb=peak_rss_mb())
    measured: tuple[int, float] | None = None
    try:
        while True:
            t0, c0 = time.perf_counter(), time.thread_time()
            if measured is not None:  # ingest (of the last measurement) + decide, timed together
                session.record(*measured)
            step = session.next()
            if step.phase not in ("seed", "stop"):
                res.wall.append(time.perf_counter() - t0)
                res.cpu.append(time.thread_time() - c0)
                res.n_train.append(len(res.order))
                res.rss_mb.append(peak_rss_mb())
                decision = getattr(rec, "last_decision", None) or {}
                if step.suggested is not None:
                    _record_phases(res.phases, decision)
                mine = step.suggested is not None and decision.get("phase", "model") == "model"
                res.fallbacks += not mine
            if step.stop:
                res.stop_reason = step.reason
                break
            cid = step.chosen_id
            value = task.measure(cid, rng)
            if pace:
                time.sleep(pace)
            res.order.append(cid)
            res.values.append(value)
            measured = (cid, value)
        if step.reason != "budget":
            res.error = f"stopped early: {step.reason}"
        mean, var = rec.predict()
        res.pred = np.asarray(mean, dtype=float).tolist()
        res.pred_var = np.asarray(var, dtype=float).tolist()
    except AutoscopeError as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    return res


def _record_phases(phases: dict[str, list[float]], decision: Any) -> None:
    """Append the per-phase seconds of ``rec.last_decision`` (keys ``t_*`` or ``timings``)."""
    if not isinstance(decision, dict):
        return
    timings = decision.get("timings")
    items = timings.items() if isinstance(timings, dict) else decision.items()
    for key, value in items:
        name = key if isinstance(timings, dict) else key[2:] if key.startswith("t_") else None
        if name and isinstance(value, int | float) and not isinstance(value, bool):
            phases.setdefault(name, []).append(float(value))
