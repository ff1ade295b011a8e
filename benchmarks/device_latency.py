"""Decision latency of the default recommender on CUDA and on one CPU thread, side by side.

Runs the benchmark protocol (``spm``, 64 x 64, 16 x 16 patches, 100 measurements) with
the default spatial DKL on ``device="cuda"`` and on ``device="cpu"`` for a few seeds,
and prints the median and p95 decision latency (ingest + train + predict every
candidate + acquire) of each. Needs a CUDA device; used to check the CUDA path and to
report its speed (``docs/model.md``).

Usage::

    python benchmarks/device_latency.py --seeds 0 3
"""

from __future__ import annotations

import argparse

import numpy as np


def main(argv: list[str] | None = None) -> None:
    import torch

    from autoscope.bench.methods import Method, run_method
    from autoscope.bench.runner import evaluate_run
    from autoscope.bench.tasks import build_task

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs=2, default=(0, 3))
    ap.add_argument("--task", default="spm")
    args = ap.parse_args(argv)
    devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    for device in devices:
        walls, steps = [], []
        for seed in range(*args.seeds):
            task = build_task(args.task, seed)
            model = {"name": "spatial_dkl", "params": {"device": device}}
            method = Method("spatial_dkl_ei", device, "recommender", model, "ei")
            res = run_method(task, method, seed, budget=100, n_seed=10)
            walls += list(res.wall)
            steps.append(evaluate_run(res, task, 100)["steps"])
        w = np.asarray(walls)
        where = torch.cuda.get_device_name() if device == "cuda" else "one thread"
        print(
            f"{device:5s} {where:>12s}: "
            f"decision latency median {np.median(w):.3f} s, p95 {np.percentile(w, 95):.3f} s "
            f"({len(w)} decisions); steps to the top 1 % per seed {steps}",
            flush=True,
        )


if __name__ == "__main__":
    main()
