"""Discovery check of the fast update path: steps to the true top 1 %, full retrain vs. fast.

The default recommender (committee, EI) retrained at every decision (``full``, the default)
beside the fast update path: ``fast5`` (``refit_every=5``, retrains where due),
``fast_sliced`` (``refit_every=5, refit_slice=10``) and ``fast_bg`` (``refit_every=5,
refit_lag=2``: retrains in the background thread, :data:`autoscope.models.FAST_COMMITTEE`),
on the benchmark protocol (64 x 64, 16 x 16 patches, 10 seed points, budget 100), seeds 0-4
(or those given) of ``stem`` and ``spm``, all modes of a seed one after the other. Prints
one line per run and writes the JSON given as the first argument. Quoted in
``benchmarks/PERF.md``.

Usage::

    python benchmarks/fast_update_discovery.py OUT.json [FIRST_SEED LAST_SEED [MODE,MODE,...]]
"""

from __future__ import annotations

import json
import sys

import numpy as np

from autoscope.bench.methods import Method, run_method
from autoscope.bench.runner import evaluate_run
from autoscope.bench.tasks import build_task

#: mode → the committee's parameters
MODES: dict[str, dict] = {
    "full": {},
    "fast5": {"refit_every": 5},
    "fast_sliced": {
        "members": [
            {"name": "spatial_dkl", "params": {"refit_every": 5, "refit_slice": 10}},
            {"name": "gp_coords", "params": {"refit_every": 5, "refit_slice": 10}},
        ]
    },
    "fast_bg": {"refit_every": 5, "refit_lag": 2},
}


def main(out: str, seeds: range = range(5), modes: tuple[str, ...] = tuple(MODES)) -> None:
    """Run ``modes`` on both tasks and ``seeds``; write the per-run results to ``out``."""
    runs: dict[str, list[dict]] = {}
    for task_name in ("stem", "spm"):
        for seed in seeds:
            task = build_task(task_name, seed, shape=64)
            for label in modes:
                spec = {"name": "committee", "params": MODES[label]}
                method = Method(label, label, "recommender", spec, "ei")
                res = run_method(task, method, seed, budget=100, n_seed=10)
                ev = evaluate_run(res, task, 100)
                cpu = np.asarray(res.cpu)
                runs.setdefault(label, []).append(
                    {
                        "task": task_name,
                        "seed": seed,
                        "steps": ev["steps"],
                        "cpu_median": float(np.median(cpu)),
                        "cpu_p95": float(np.percentile(cpu, 95)),
                        "error": res.error,
                    }
                )
                print(task_name, seed, label, ev["steps"], flush=True)
                with open(out, "w") as fh:  # after every run: a long job can be read as it goes
                    json.dump(runs, fh, indent=1)


if __name__ == "__main__":
    first, last = (int(a) for a in sys.argv[2:4]) if len(sys.argv) > 3 else (0, 4)
    chosen = tuple(sys.argv[4].split(",")) if len(sys.argv) > 4 else tuple(MODES)
    main(sys.argv[1], range(first, last + 1), chosen)
