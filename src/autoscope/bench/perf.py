"""``autoscope bench --perf``: decision latency and discovery of the model's update modes.

For every grid side (64, 128, 256 by default) and every mode, the default recommender
(the committee, EI) runs closed loop on the benchmark tasks over a few seeds, exactly as
in the benchmark (:func:`autoscope.bench.methods.run_method`); one run writes every row
side by side. Modes (:data:`MODES`):

* ``full`` — today's default: the committee retrained at every decision;
* ``fast`` — the fast update path (``refit_every=5``): between retrains the GP is
  conditioned on the new point with the network frozen (:mod:`autoscope.models._update`);
* ``full_sliced`` — ``full`` with the re-initialisations trained on a copy, 30 Adam steps
  per decision beside the warm fits, and swapped in when done (``refit_slice=30``);
* ``fast_sliced`` — ``fast`` with every retrain (re-initialisations included) run on a copy
  of the model, 10 Adam steps per decision, and swapped in when done (``refit_slice``);
* ``fast_bg`` — ``fast`` with every retrain run on a copy in the model's trainer thread and
  swapped in 2 fits later (``refit_lag=2``, :data:`autoscope.models.FAST_COMMITTEE`): no
  decision trains;
* ``atomai`` — the reference row, timed only: atomai 0.8.1's own ``dklGPR`` rebuilt and
  trained 200 epochs per decision, EI (:mod:`autoscope.bench.atomai_ref`), one decision at
  each of :data:`ATOMAI_DECISIONS` training-set sizes spread evenly over
  ``[n_seed, budget - 1]`` (the median of a closed-loop run's sizes is their middle one) on
  the same tasks, seeds and seed permutation; its discovery is measured by
  ``benchmarks/atomai_reference.py``. In the default modes where atomai is installed.

Between two decisions the simulated instrument takes ``pace`` seconds (0.3 by default, a
spectrum's dwell; not in the timed decision): what background retrains run beside, as on
an instrument. Reported per grid and mode: decision latency (ingest + fit or
conditioning + prediction of every candidate + acquisition) median and p95 over all
decisions of all seeds, the
worst decision, the median over seeds of the steps to the true top 1 %, and the peak
RSS. Wall-clock numbers depend on the machine and its load; the report says where it
ran (and its load average).

Two more tables in the same run: the **instrument idle per point** (the gap between two
spectra minus the dwell) of real ``dkl_explore`` runs on the embedded catalog through the
default writer, per dwell and run mode (:mod:`autoscope.bench.idle`), and the
**discovery** of the overlapped, fast-update and batch modes beside the default
(:mod:`autoscope.bench.pipelined`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autoscope.bench import idle, metrics, pipelined
from autoscope.bench._perf_modes import ATOMAI_DECISIONS, ATOMAI_MODE, MODES, default_modes
from autoscope.bench.methods import Method, run_method
from autoscope.bench.runner import evaluate_run
from autoscope.bench.tasks import build_task
from autoscope.errors import InputDataError

__all__ = ["ATOMAI_DECISIONS", "MODES", "PerfConfig", "default_modes", "perf_markdown", "run_perf"]


@dataclass
class PerfConfig:
    """What ``--perf`` runs.

    Attributes
    ----------
    grids : list of int
        Grid sides in pixels (16 x 16 patches: ``(g - 15)^2`` candidates).
    modes : list of str
        Keys of :data:`MODES`.
    tasks : list of str
        Benchmark tasks with a free grid size (``stem``, ``spm``, ``fourd``, ``unrelated``).
    seeds : list of int
    budget, n_seed : int
        Measurements per run and random seed points, per grid side
        (``budget`` applies to every grid unless ``budgets`` names one).
    budgets : dict of int to int
        Per-grid budget overrides (large grids are slow with ``full``).
    dwells : list of float
        Spectral dwells (s) of the idle-per-point table; empty: no table.
    idle_modes : list of str
        Keys of :data:`autoscope.bench.idle.IDLE_MODES` (default
        :data:`~autoscope.bench.idle.DEFAULT_IDLE_MODES`).
    idle_shape : int or None
        Grid side of the idle runs (``None``: the first of ``grids``).
    idle_budget : int
        Budget of the idle runs (``n_seed`` seed points, seeds ``seeds``).
    discovery_modes : list of str
        Keys of :data:`autoscope.bench.pipelined.DISCOVERY_MODES`; empty: no table.
    discovery_shape : int or None
        Grid side of the discovery runs (``None``: the first of ``grids``; budget
        :meth:`budget_for` that side).
    pace : float
        Seconds per simulated measurement between the timed decisions (0: back to back).
    """

    grids: list[int] = field(default_factory=lambda: [64, 128, 256])
    modes: list[str] = field(default_factory=default_modes)
    tasks: list[str] = field(default_factory=lambda: ["stem", "spm"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    budget: int = 100
    n_seed: int = 10
    budgets: dict[int, int] = field(default_factory=dict)
    dwells: list[float] = field(default_factory=lambda: [0.05, 0.3, 1.0])
    idle_modes: list[str] = field(default_factory=lambda: list(idle.DEFAULT_IDLE_MODES))
    idle_shape: int | None = None
    idle_budget: int = 30
    discovery_modes: list[str] = field(default_factory=lambda: list(pipelined.DISCOVERY_MODES))
    discovery_shape: int | None = None
    pace: float = 0.3

    @classmethod
    def quick_config(cls, **overrides: Any) -> PerfConfig:
        """Return a configuration that shows every table in about a minute (32 x 32, 1 seed)."""
        quick: dict[str, Any] = {
            "grids": [32], "modes": ["full", "fast"], "tasks": ["stem"], "seeds": [0],
            "budget": 20, "n_seed": 6, "dwells": [0.05, 0.3], "idle_budget": 14, "pace": 0.05,
        }  # fmt: skip
        quick.update(overrides)
        return cls(**quick)

    def validate(self) -> None:
        """Raise :class:`InputDataError` naming the first bad setting."""
        bad = [m for m in self.modes if m not in MODES]
        if bad:
            raise InputDataError(f"unknown perf mode(s) {bad}; available: {', '.join(MODES)}")
        fixed = [t for t in self.tasks if t in ("beps", "stem128")]
        if fixed:
            raise InputDataError(f"task(s) {fixed} have a fixed grid; --perf needs stem/spm/...")
        small = [g for g in self.grids if g < 24]
        if small:
            raise InputDataError(f"grid sides must be >= 24 pixels, got {small}")
        if not self.seeds or not self.tasks or not self.grids:
            raise InputDataError("--perf needs at least one seed, task and grid")
        for g in self.grids:
            if not 1 <= self.n_seed < self.budget_for(g):
                raise InputDataError(
                    f"need 1 <= n_seed < budget, got n_seed={self.n_seed}, "
                    f"budget={self.budget_for(g)} at grid {g}"
                )
        bad = [m for m in self.idle_modes if m not in idle.IDLE_MODES]
        bad += [m for m in self.discovery_modes if m not in pipelined.DISCOVERY_MODES]
        if bad:
            raise InputDataError(
                f"unknown mode(s) {bad}; idle: {', '.join(idle.IDLE_MODES)}; "
                f"discovery: {', '.join(pipelined.DISCOVERY_MODES)}"
            )
        if not (isinstance(self.pace, int | float) and 0 <= self.pace <= 10):
            raise InputDataError(f"pace must be in [0, 10] s, got {self.pace!r}")
        if any(not (isinstance(d, int | float) and 0 < d <= 10) for d in self.dwells):
            raise InputDataError(f"dwells must be in (0, 10] s, got {self.dwells}")
        if self.dwells and not 1 <= self.n_seed < self.idle_budget - 1:
            raise InputDataError(
                f"the idle runs need 1 <= n_seed < idle_budget - 1, got n_seed={self.n_seed}, "
                f"idle_budget={self.idle_budget}"
            )
        if min(self.idle_grid, self.discovery_grid) < 24:
            raise InputDataError("idle_shape and discovery_shape must be >= 24 pixels")

    @property
    def idle_grid(self) -> int:
        """The grid side of the idle runs."""
        return int(self.idle_shape or (self.grids[0] if self.grids else 64))

    @property
    def discovery_grid(self) -> int:
        """The grid side of the discovery runs."""
        return int(self.discovery_shape or (self.grids[0] if self.grids else 64))

    def budget_for(self, grid: int) -> int:
        """Return the budget used on grid side ``grid``."""
        return int(self.budgets.get(grid, self.budget))


def run_perf(config: PerfConfig, out: str | os.PathLike, log: Any = None) -> dict[str, Any]:
    """Run every (grid, mode, task, seed); write ``OUT/perf.json`` and ``OUT/PERF.md``.

    Returns
    -------
    dict
        ``rows`` (one per grid and mode: latency median/p95/max in s, steps to the
        top 1 % per task, peak RSS in MiB), ``runs`` (per run), ``idle``
        (:func:`autoscope.bench.idle.idle_table`, when ``dwells``), ``discovery``
        (:func:`autoscope.bench.pipelined.discovery_table`, when ``discovery_modes``)
        and ``environment``.
    """
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    for grid in config.grids:
        budget = config.budget_for(grid)
        for task_name in config.tasks:
            for seed in config.seeds:
                task = build_task(task_name, seed, shape=grid)
                for mode in config.modes:
                    t0 = time.perf_counter()
                    if mode == ATOMAI_MODE:
                        run = _atomai_run(task, seed, budget, config.n_seed)
                    else:
                        spec, note = MODES[mode]
                        method = Method(f"committee_{mode}", note, "recommender", spec, "ei")
                        res = run_method(
                            task, method, seed, budget=budget, n_seed=config.n_seed,
                            pace=config.pace,
                        )  # fmt: skip
                        ev = evaluate_run(res, task, budget)
                        run = {
                            "wall": list(res.wall),
                            "cpu": list(res.cpu),
                            "steps": ev["steps_in_budget"],
                            "peak_rss_mb": max(res.rss_mb, default=float("nan")),
                            "error": res.error,
                        }
                    runs.append(
                        {
                            "grid": grid,
                            "mode": mode,
                            "task": task_name,
                            "seed": seed,
                            "n_candidates": task.n_candidates,
                            "budget": budget,
                            **run,
                            "seconds": time.perf_counter() - t0,
                        }
                    )
                    w = metrics.latency_stats(run["wall"])
                    if log is not None:
                        print(
                            f"  {grid}x{grid} {mode:5s} {task_name} seed {seed}: "
                            f"median {w['median'] * 1e3:.1f} ms, p95 {w['p95'] * 1e3:.1f} ms, "
                            f"steps {run['steps']}",
                            file=log,
                            flush=True,
                        )
    result: dict[str, Any] = {"rows": summarize_perf(runs, config), "runs": runs}
    if config.dwells and config.idle_modes:
        result["idle"] = idle.idle_table(
            config.dwells, config.idle_modes, config.seeds, shape=config.idle_grid,
            budget=config.idle_budget, n_seed=config.n_seed, log=log,
        )  # fmt: skip
    if config.discovery_modes:
        result["discovery"] = pipelined.discovery_table(
            config.tasks, config.seeds, config.discovery_modes, shape=config.discovery_grid,
            budget=config.budget_for(config.discovery_grid), n_seed=config.n_seed, log=log,
        )  # fmt: skip
    result["environment"] = _env()
    (out / "perf.json").write_text(json.dumps(result, indent=1, default=float))
    (out / "PERF.md").write_text(perf_markdown(result, config))
    return result


def _atomai_run(task: Any, seed: int, budget: int, n_seed: int) -> dict[str, Any]:
    """Time atomai's decisions at :data:`ATOMAI_DECISIONS` sizes in ``[n_seed, budget - 1]``."""
    from autoscope.bench.atomai_ref import atomai_probe

    sizes = sorted({int(round(n)) for n in np.linspace(n_seed, budget - 1, ATOMAI_DECISIONS)})
    probe = atomai_probe(task, seed, sizes=sizes)
    return {
        "wall": [p["wall"] for p in probe],
        "cpu": [p["cpu"] for p in probe],
        "n_train": sizes,
        "steps": None,
        "timed_only": True,
        "peak_rss_mb": max(p["rss_mb"] for p in probe),
        "error": None,
    }


def summarize_perf(runs: list[dict[str, Any]], config: PerfConfig) -> list[dict[str, Any]]:
    """One row per (grid, mode): pooled latency statistics and steps to the top 1 % per task."""
    rows = []
    for grid in config.grids:
        for mode in config.modes:
            sel = [r for r in runs if r["grid"] == grid and r["mode"] == mode]
            wall = [w for r in sel for w in r["wall"]]
            lat = metrics.latency_stats(wall)
            later = metrics.latency_stats([w for r in sel for w in r["wall"][1:]])
            cpu = metrics.latency_stats([c for r in sel for c in r.get("cpu", [])])
            steps = {
                t: metrics.steps_summary([r["steps"] for r in sel if r["task"] == t])
                for t in config.tasks
            }
            rows.append(
                {
                    "grid": grid,
                    "mode": mode,
                    "n_candidates": sel[0]["n_candidates"] if sel else 0,
                    "budget": config.budget_for(grid),
                    "median_s": lat["median"],
                    "p95_s": lat["p95"],
                    "p95_later_s": later["p95"],
                    "max_s": float(max(wall)) if wall else float("nan"),
                    "cpu_median_s": cpu["median"],
                    "cpu_p95_s": cpu["p95"],
                    "decisions": lat["n"],
                    "steps": steps,
                    "timed_only": any(r.get("timed_only") for r in sel),
                    "peak_rss_mb": max((r["peak_rss_mb"] for r in sel), default=float("nan")),
                    "errors": [r["error"] for r in sel if r["error"]],
                }
            )
    return rows


def perf_markdown(result: dict[str, Any], config: PerfConfig) -> str:
    """Return the markdown table of ``run_perf``'s rows."""
    env = result["environment"]
    lines = [
        "# Decision latency and discovery by update mode",
        "",
        f"Machine: {env['machine']}, {env['cpus']} CPUs, load average "
        f"{env.get('load', '?')} at the end, torch threads 1; "
        f"tasks {', '.join(config.tasks)}; seeds {config.seeds}; EI, committee model; "
        f"{config.pace:g} s of simulated measurement between decisions.",
        "Latency: ingest + fit or conditioning + prediction of every candidate + acquisition, "
        "pooled over all decisions of all seeds (p95 after 1st: without each run's first "
        "decision, the first fit from scratch); wall clock and the deciding thread's CPU time "
        "(on a shared, loaded machine the CPU time is what one free core would take; a "
        "background retrain's CPU is not in it). "
        "Steps: median over seeds of the measurements "
        "needed to reach the true top 1 % (seed points included; `-` not within the budget).",
        "",
        "| grid | candidates | mode | budget | median (ms) | p95 (ms) | p95 after 1st (ms) | "
        "max (ms) | CPU median (ms) | CPU p95 (ms) | "
        + " | ".join(f"steps {t}" for t in config.tasks)
        + " | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(config.tasks) + "---|",
    ]
    for r in result["rows"]:
        steps = [
            "timed only" if r.get("timed_only") else _steps(r["steps"][t]) for t in config.tasks
        ]
        lines.append(
            f"| {r['grid']}x{r['grid']} | {r['n_candidates']} | {r['mode']} | {r['budget']} | "
            f"{r['median_s'] * 1e3:.1f} | {r['p95_s'] * 1e3:.1f} | "
            f"{r['p95_later_s'] * 1e3:.1f} | {r['max_s'] * 1e3:.0f} | "
            f"{r['cpu_median_s'] * 1e3:.1f} | {r['cpu_p95_s'] * 1e3:.1f} | "
            + " | ".join(steps)
            + f" | {r['peak_rss_mb']:.0f} |"
        )
    lines += _atomai_ratios(result["rows"])
    lines += ["", "Modes:", ""]
    lines += [f"* `{m}`: {MODES[m][1]} (`{json.dumps(MODES[m][0])}`)" for m in config.modes]
    if result.get("idle"):
        lines += ["", "## Instrument idle per point", ""]
        lines += idle.idle_markdown(result["idle"], config.idle_grid, config.idle_budget)
    if result.get("discovery"):
        lines += ["", "## Discovery of the overlapped, fast-update and batch modes", ""]
        lines += pipelined.discovery_markdown(
            result["discovery"], config.discovery_grid, config.budget_for(config.discovery_grid)
        )
    return "\n".join(lines) + "\n"


def _atomai_ratios(rows: list[dict[str, Any]]) -> list[str]:
    """One line per grid: atomai's CPU median over each mode's (how many times faster)."""
    out = []
    for ref in (r for r in rows if r["mode"] == ATOMAI_MODE):
        others = [r for r in rows if r["grid"] == ref["grid"] and r["mode"] != ATOMAI_MODE]
        parts = [
            f"`{r['mode']}` {ref['cpu_median_s'] / r['cpu_median_s']:.0f}×"
            for r in others
            if r["cpu_median_s"] > 0
        ]
        if parts:
            out.append(
                f"* {ref['grid']}x{ref['grid']}: atomai's CPU per decision (median) over each "
                "mode's: " + ", ".join(parts)
            )
    return ["", "CPU ratio to the atomai reference:", "", *out] if out else []


def _steps(s: dict[str, Any]) -> str:
    if not s["runs"]:
        return "-"
    med = "-" if not np.isfinite(s["median"]) else f"{s['median']:g}"
    return f"{med} ({s['found']}/{s['runs']})"


def _env() -> dict[str, Any]:
    return {
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load": " ".join(f"{v:.1f}" for v in os.getloadavg()),
    }
