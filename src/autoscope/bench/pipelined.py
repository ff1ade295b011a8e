"""Discovery of the overlapped, fast-update and batch modes beside the default, in-process.

``dkl_explore(..., overlap=True)`` decides the next point while the current one is
measured, so each decision knows one point fewer; ``batch_size=q`` picks ``q`` points per
decision; the fast update path (:data:`autoscope.models.FAST_COMMITTEE`) conditions the
model between retrains. Each changes what the model knew when it chose, so the speed
must not be bought with discovery. :func:`pipelined_run` runs the plan's own loop
(:class:`~autoscope.recommender.batch.BatchSession`, in the order
:func:`autoscope.plans.pipeline.pipelined_steps` decides and records: with overlap the
next decision is taken *before* the values of the points in flight are recorded) on a
benchmark task, fed the task's noisy ``measure`` with the benchmark's seed points, noise
and recommender seed, so the modes differ only in what the mode changes. Discovery is
the number of measurements up to the first one in the true top 1 %
(:func:`autoscope.bench.metrics.steps_to_top`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from autoscope.bench import metrics
from autoscope.bench.methods import _noise_rng, initial_order
from autoscope.bench.tasks import Task, build_task
from autoscope.errors import InputDataError
from autoscope.models import FAST_COMMITTEE

__all__ = ["DISCOVERY_MODES", "discovery_markdown", "discovery_table", "pipelined_run"]

#: mode → (model spec, overlap, points per decision, what it is)
DISCOVERY_MODES: dict[str, tuple[Any, bool, int, str]] = {
    "default": ("committee", False, 1, "decide, then measure; retrained at every decision"),
    "overlap": ("committee", True, 1, "decided while the previous point is measured"),
    "fast": (FAST_COMMITTEE, False, 1, "fast update path, background retrains (FAST_COMMITTEE)"),
    "overlap_fast": (FAST_COMMITTEE, True, 1, "overlap + FAST_COMMITTEE"),
    "batch4": ("committee", False, 4, "4 points per decision (kriging believer)"),
}


def pipelined_run(task: Task, mode: str, seed: int, *, budget: int, n_seed: int) -> dict[str, Any]:
    """Run one task in ``mode`` for one seed; return the measured order and decision times.

    Returns
    -------
    dict
        ``order`` (candidate ids in measurement order), ``decisions`` (model decisions),
        ``decide_s`` (wall time of each model decision, s).
    """
    from autoscope.recommender import DKLRecommender
    from autoscope.recommender.batch import BatchSession

    if mode not in DISCOVERY_MODES:
        raise InputDataError(f"unknown mode {mode!r}; available: {', '.join(DISCOVERY_MODES)}")
    model, overlap, q, _ = DISCOVERY_MODES[mode]
    rec = DKLRecommender(task.image, patch_size=task.patch_size, policy="ei", seed=seed,
                         model=model, stride=task.stride)  # fmt: skip
    noise = _noise_rng(seed)
    seeds = [int(c) for c in initial_order(task.n_candidates, seed)[:n_seed]]
    session = BatchSession(rec, task.n_candidates, budget, seed_ids=seeds,
                           rng=np.random.default_rng([seed, 3]))  # fmt: skip
    order: list[int] = []
    times: list[float] = []

    def decide() -> list[Any]:
        t0 = time.perf_counter()
        steps = session.next_batch(q)
        if not steps[0].stop and steps[0].phase != "seed":
            times.append(time.perf_counter() - t0)
        return steps

    steps = decide()
    while not steps[0].stop:
        following = decide() if overlap else None  # the worker decides while these are measured
        values = [(st.chosen_id, task.measure(st.chosen_id, noise)) for st in steps]
        order += [cid for cid, _ in values]
        for cid, value in values:
            session.record(cid, value)
        steps = following if following is not None else decide()
    return {"order": order, "decisions": len(times), "decide_s": times}


def discovery_table(
    tasks: Sequence[str],
    seeds: Sequence[int],
    modes: Sequence[str] = tuple(DISCOVERY_MODES),
    *,
    shape: int = 64,
    budget: int = 100,
    n_seed: int = 10,
    log: Any = None,
) -> list[dict[str, Any]]:
    """Measure the steps to the true top 1 % per (task, mode) over ``seeds``, modes side by side.

    Returns
    -------
    list of dict
        One row per (task, mode): ``steps`` (:func:`~autoscope.bench.metrics.steps_summary`:
        median, min, max, found, runs), ``per_seed`` (steps, ``None`` when not found
        within the budget), ``decisions`` (median per run) and ``decide_median_s``.
    """
    bad = [m for m in modes if m not in DISCOVERY_MODES]
    if bad:
        raise InputDataError(f"unknown mode(s) {bad}; available: {', '.join(DISCOVERY_MODES)}")
    rows = []
    for name in tasks:
        per_mode: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
        for seed in seeds:
            task = build_task(name, seed, shape=shape)
            top = metrics.top_mask(task.truth)
            for mode in modes:
                r = pipelined_run(task, mode, seed, budget=budget, n_seed=n_seed)
                r["steps"] = metrics.steps_to_top(r["order"], top)
                per_mode[mode].append(r)
                if log is not None:
                    print(f"  discovery {name} {mode:12s} seed {seed}: steps {r['steps']}",
                          file=log, flush=True)  # fmt: skip
        for mode, rs in per_mode.items():
            decide = [t for r in rs for t in r["decide_s"]]
            rows.append(
                {
                    "task": name,
                    "mode": mode,
                    "steps": metrics.steps_summary([r["steps"] for r in rs]),
                    "per_seed": [r["steps"] for r in rs],
                    "decisions": float(np.median([r["decisions"] for r in rs])),
                    "decide_median_s": float(np.median(decide)) if decide else float("nan"),
                }
            )
    return rows


def discovery_markdown(rows: Sequence[dict[str, Any]], shape: int, budget: int) -> list[str]:
    """Return the Markdown lines of :func:`discovery_table`'s rows."""
    lines = [
        f"Discovery by run mode: measurements to the first one in the true top 1 % (seed "
        f"points included; median over seeds, `-` when not within the budget), {shape}x{shape} "
        f"grid, budget {budget}, committee + EI.",
        "",
        "| task | mode | steps, median | per seed | found | decisions per run | "
        "decision median (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["steps"]
        med = f"{s['median']:g}" if np.isfinite(s["median"]) else "-"
        per = ", ".join("-" if v is None else str(v) for v in r["per_seed"])
        lines.append(
            f"| {r['task']} | {r['mode']} | {med} | {per} | {s['found']}/{s['runs']} | "
            f"{r['decisions']:g} | {1e3 * r['decide_median_s']:.0f} |"
        )
    lines += ["", "Modes:", ""]
    modes = dict.fromkeys(r["mode"] for r in rows)
    lines += [f"* `{m}`: {DISCOVERY_MODES[m][3]}" for m in modes]
    return lines
