"""Run the benchmark: every method on every task over several seeds, one job per (task, method).

A job runs all seeds of one method on one task. With ``jobs >= 1`` each job runs in a
fresh worker process (``spawn``, one job per process), so the peak-RSS numbers of one
method are not masked by another's; ``jobs = 0`` runs everything in this process
(tests, quick runs). Finished jobs are written to ``OUT/runs/<task>__<method>.json``;
with ``resume`` a later call reuses those whose settings match.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.bench import metrics
from autoscope.bench._provenance import code_fingerprint, environment
from autoscope.bench.methods import METHODS, RunResult
from autoscope.bench.tasks import TASKS, Task
from autoscope.errors import InputDataError

__all__ = [
    "BenchConfig",
    "LATENCY_TASKS",
    "METHOD_TASKS",
    "REFERENCE",
    "code_fingerprint",
    "default_reference",
    "environment",
    "evaluate_run",
    "jobs_for",
    "run_benchmark",
    "run_job",
]

#: tasks that only time the DKL rows (patch-only, spatial and the default committee; random for
#: scale)
LATENCY_TASKS: dict[str, tuple[str, ...]] = {
    "stem128": ("dkl_ei", "spatial_dkl_ei", "committee_ei", "random")
}
#: methods run on some tasks only: the full-retrain variant (~1 s per decision) is the
#: warm-start trade-off row, measured where the targets are
METHOD_TASKS: dict[str, tuple[str, ...]] = {"dkl_ei_full": ("stem", "spm")}
#: the timed reference rows: method name → tasks it runs on. ``atomai``: atomai 0.8.1's
#: ``dklGPR`` itself (the ``reference`` extra); ``atomai_like``: the same model rebuilt from
#: gpytorch, for installs without atomai
REFERENCE: dict[str, tuple[str, ...]] = {"atomai": ("stem", "spm"), "atomai_like": ("stem",)}


def default_reference() -> str:
    """Return the reference row a default run times: ``atomai`` where it is installed."""
    import importlib.util

    return "atomai" if importlib.util.find_spec("atomai") is not None else "atomai_like"


@dataclass
class BenchConfig:
    """What to run.

    Attributes
    ----------
    tasks, methods : list of str
        Registered names (:data:`~autoscope.bench.tasks.TASKS`,
        :data:`~autoscope.bench.methods.METHODS`; ``"atomai"`` or ``"atomai_like"`` adds
        a timed reference probe, :data:`REFERENCE`; the default has
        :func:`default_reference`).
    seeds : list of int
    budget : int
        Measurements per run, seed points included.
    n_seed : int
        Random seed measurements before a method decides.
    shape, patch_size : int
        Grid side and patch side of the tasks without fixed sizes.
    jobs : int
        Worker processes (0: run in this process).
    reference_sizes : tuple of int
        Training-set sizes the reference probes are timed at.
    quick : bool
        Marks a reduced CI run in the report.
    """

    tasks: list[str] = field(
        default_factory=lambda: ["stem", "spm", "fourd", "beps", "unrelated", "stem128"]
    )
    methods: list[str] = field(default_factory=lambda: [*METHODS, default_reference()])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    budget: int = 100
    n_seed: int = 10
    shape: int = 64
    patch_size: int = 16
    jobs: int = 1
    reference_sizes: tuple[int, ...] = (10, 50, 100)
    quick: bool = False

    @classmethod
    def quick_config(cls, **overrides: Any) -> BenchConfig:
        """Return a small CI run: 2 seeds, 32×32 grids, 8×8 patches, 30 measurements, 4 methods."""
        base: dict[str, Any] = {
            "tasks": ["stem", "spm"],
            "methods": ["dkl_ei", "gp_coords", "random", "raster"],
            "seeds": [0, 1],
            "budget": 30,
            "n_seed": 5,
            "shape": 32,
            "patch_size": 8,
            "jobs": 0,
            "reference_sizes": (10, 20),
            "quick": True,
        }
        base.update(overrides)
        return cls(**base)

    def validate(self) -> None:
        """Raise :class:`InputDataError` naming any unknown task/method or bad size."""
        bad_t = [t for t in self.tasks if t not in TASKS]
        bad_m = [m for m in self.methods if m not in METHODS and m not in REFERENCE]
        if bad_t or bad_m:
            raise InputDataError(
                f"unknown tasks {bad_t} / methods {bad_m}; tasks: {', '.join(TASKS)}; "
                f"methods: {', '.join([*METHODS, *REFERENCE])}"
            )
        if not self.seeds or not 1 <= self.n_seed <= self.budget or self.jobs < 0:
            raise InputDataError(
                f"need >= 1 seed, 1 <= n_seed <= budget and jobs >= 0, got seeds={self.seeds}, "
                f"n_seed={self.n_seed}, budget={self.budget}, jobs={self.jobs}"
            )

    def key(self) -> dict[str, Any]:
        """Return the settings a stored job must match to be reused."""
        return {k: v for k, v in asdict(self).items() if k not in ("tasks", "methods", "jobs")}


def jobs_for(config: BenchConfig) -> list[tuple[str, str]]:
    """Return the (task, method) pairs a configuration runs, in order."""
    out = []
    for task in config.tasks:
        allowed = LATENCY_TASKS.get(task)
        for method in config.methods:
            if method in REFERENCE:
                if task in REFERENCE[method]:
                    out.append((task, method))
            elif (allowed is None or method in allowed) and task in METHOD_TASKS.get(
                method, (task,)
            ):
                out.append((task, method))
    return out


def evaluate_run(res: RunResult, task: Task, budget: int) -> dict[str, Any]:
    """Score one run against the task's truth; return the run record without the big maps.

    Adds ``steps`` (to the top 1 %, over the whole recorded order: the full permutation
    for random/raster), ``steps_in_budget``, ``k_top``, ``n_candidates``, ``regret``
    (first ``budget`` measurements), ``map_error`` and ``coverage95`` (fraction of
    candidates whose truth lies in the 95 % interval of the final prediction; NaN
    without a variance).
    """
    top = metrics.top_mask(task.truth, 0.01)
    rec = res.to_dict()
    pred, var = np.asarray(rec.pop("pred"), float), np.asarray(rec.pop("pred_var"), float)
    steps = metrics.steps_to_top(res.order, top)
    rec.update(
        steps=steps,
        steps_in_budget=steps if steps is not None and steps <= budget else None,
        k_top=int(top.sum()),
        n_candidates=task.n_candidates,
        regret=metrics.regret_curve(res.order[:budget], task.truth).tolist(),
        map_error=metrics.map_error(pred, task.truth) if pred.size else float("nan"),
        coverage95=float("nan"),
    )
    if var.size:
        ok = np.isfinite(task.truth)
        z = np.abs(pred[ok] - task.truth[ok]) / np.sqrt(np.clip(var[ok], 1e-300, None))
        rec["coverage95"] = float(np.mean(z <= 1.96))
    if len(res.order) > budget:  # model-free: keep the prefix plus where the top was hit
        rec["order"] = res.order[:budget]
    return _compact(rec)


def _compact(x: Any) -> Any:
    """Round floats to 6 significant digits (keeps the stored runs small)."""
    if isinstance(x, float):
        return float(f"{x:.6g}") if np.isfinite(x) else x
    if isinstance(x, dict):
        return {k: _compact(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_compact(v) for v in x]
    return x


def run_job(task_name: str, method_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run every seed of one method on one task; return a JSON-serialisable record.

    Parameters
    ----------
    task_name, method_name : str
    config : dict
        :meth:`BenchConfig.key` plus nothing else.
    """
    from autoscope.bench.methods import peak_rss_mb, run_method
    from autoscope.bench.tasks import build_task

    if method_name not in REFERENCE:
        import autoscope.recommender  # noqa: F401 - imports counted before the baseline RSS
    t0 = time.perf_counter()
    runs, tasks_info, probe = [], {}, None
    rss0 = None
    for seed in config["seeds"]:
        task = build_task(task_name, seed, shape=config["shape"], patch_size=config["patch_size"])
        tasks_info[str(seed)] = task.info
        if rss0 is None:
            rss0 = peak_rss_mb()
        if method_name in REFERENCE:
            sizes = tuple(config["reference_sizes"])
            if method_name == "atomai":
                from autoscope.bench.atomai_ref import atomai_probe

                probe = atomai_probe(task, seed, sizes=sizes)
            else:
                from autoscope.bench.reference import atomai_like_probe

                probe = atomai_like_probe(task, seed, sizes=sizes)
            break  # a timed reference: one seed is enough
        res = run_method(
            task, METHODS[method_name], seed, budget=config["budget"], n_seed=config["n_seed"]
        )
        runs.append(evaluate_run(res, task, config["budget"]))
    return {
        "task": task_name,
        "method": method_name,
        "key": config,
        "runs": runs,
        "probe": probe,
        "tasks": tasks_info,
        "rss_baseline_mb": rss0,
        "rss_peak_mb": peak_rss_mb(),
        "seconds": time.perf_counter() - t0,
        "pid": os.getpid(),
        "code": code_fingerprint(),
    }


def _job_path(out: Path, task: str, method: str) -> Path:
    return out / "runs" / f"{task}__{method}.json"


def run_benchmark(
    config: BenchConfig,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    run_missing: bool = True,
    log=None,
) -> dict[str, Any]:
    """Run every job of ``config``, store each under ``out/runs/`` and return all records.

    Parameters
    ----------
    config : BenchConfig
    out : path-like
        Output directory (created).
    resume : bool
        Reuse stored jobs whose settings and code fingerprint match.
    run_missing : bool
        With ``resume``: run the jobs not stored yet or stored with other code (False:
        report what is stored, whatever code made it).
    log : callable, optional
        ``log(str)`` progress lines (default: print to stderr).

    Returns
    -------
    dict
        ``{"config", "environment", "jobs": [job records], "crashed": [{"task",
        "method", "error"}], "seconds"}``.
    """
    config.validate()
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    key = config.key()
    code = code_fingerprint()
    todo, records = [], {}
    for task, method in jobs_for(config):
        path = _job_path(out, task, method)
        if resume and path.is_file():
            rec = json.loads(path.read_text())
            same_code = rec.get("code") == code or not run_missing
            if rec.get("key") == json.loads(json.dumps(key)) and same_code:
                records[(task, method)] = rec
                log(f"[bench] reuse {task} / {method}")
                continue
            if rec.get("key") == json.loads(json.dumps(key)):
                log(f"[bench] {task} / {method}: stored with other code, running again")
        if run_missing:
            todo.append((task, method))
    t0 = time.perf_counter()

    total = len(records) + len(todo)

    def done(task: str, method: str, rec: dict[str, Any]) -> None:
        records[(task, method)] = rec
        _job_path(out, task, method).write_text(json.dumps(rec))
        errors = sum(r.get("error") is not None for r in rec["runs"])
        log(
            f"[bench] {len(records)}/{total} {task} / {method}: {rec['seconds']:.1f} s"
            + (f", {errors} runs stopped by errors" if errors else "")
        )

    crashed: list[dict[str, str]] = []
    if config.jobs == 0:
        for task, method in todo:
            done(task, method, run_job(task, method, key))
    else:  # a crashing job (a bug, not a model failure) is logged; the others go on
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(config.jobs, mp_context=ctx, max_tasks_per_child=1) as pool:
            futures = {pool.submit(run_job, t, m, key): (t, m) for t, m in todo}
            for fut in as_completed(futures):
                task, method = futures[fut]
                try:
                    rec = fut.result()
                except Exception as exc:  # noqa: BLE001 - reported in the result and the log
                    crashed.append({"task": task, "method": method, "error": repr(exc)})
                    log(f"[bench] {task} / {method} CRASHED: {exc!r}")
                    continue
                done(task, method, rec)
    order = {pair: i for i, pair in enumerate(jobs_for(config))}
    return {
        "config": asdict(config),
        "environment": dict(environment(), code=code),
        "jobs": [records[p] for p in sorted(records, key=order.__getitem__)],
        "crashed": crashed,
        "seconds": time.perf_counter() - t0,
        "job_seconds": float(sum(r["seconds"] for r in records.values())),
    }
