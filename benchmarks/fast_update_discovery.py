"""Discovery check of the fast update path: steps to the true top 1 %, full retrain vs. fast.

The default recommender (committee, EI) with ``refit_every=1`` (retrain every decision, the
default) and ``refit_every=5`` (the fast update path) on the benchmark protocol (64 x 64,
16 x 16 patches, 10 seed points, budget 100), seeds 0-4 (or those given) of ``stem`` and
``spm``. Prints one line per run and writes the JSON given as the first argument. Quoted in
``benchmarks/PERF.md``.

Usage::

    python benchmarks/fast_update_discovery.py fast_update_discovery.json [FIRST_SEED LAST_SEED]
"""

from __future__ import annotations

import json
import sys

import numpy as np

from autoscope.bench.methods import Method, run_method
from autoscope.bench.runner import evaluate_run
from autoscope.bench.tasks import build_task


def main(out: str, seeds: range = range(5)) -> None:
    """Run both modes on both tasks and ``seeds``; write the per-run results to ``out``."""
    runs: dict[str, list[dict]] = {}
    for task_name in ("stem", "spm"):
        for seed in seeds:
            task = build_task(task_name, seed, shape=64)
            for label, params in (("full", {}), ("fast5", {"refit_every": 5})):
                spec = {"name": "committee", "params": params}
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
    with open(out, "w") as fh:
        json.dump(runs, fh, indent=1)


if __name__ == "__main__":
    first, last = (int(a) for a in sys.argv[2:4]) if len(sys.argv) > 3 else (0, 4)
    main(sys.argv[1], range(first, last + 1))
