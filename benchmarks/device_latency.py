"""Decision latency of the committee on CUDA and on one CPU thread, side by side, per grid.

The GPU rows of the speed issue: the default committee (``full``) and the fast path with
background retrains (``fast_bg``, ``FAST_COMMITTEE``) with their deep-kernel member pinned
to ``cuda`` and to ``cpu`` (the coordinate GP stays on the CPU, as ``device="auto"`` places
it), on the ``stem`` task at each grid side, a few seeds, 0.3 s of simulated measurement
between decisions (what background retrains run beside). Prints one line per (grid, mode,
device): wall-clock median and p95 of the decision latency (ingest + fit or conditioning +
prediction of every candidate + acquisition), and the steps to the true top 1 %. Without a
CUDA device only the CPU rows run. Goal: ``fast_bg`` on CUDA ≤ 50 ms per decision at
256 x 256, and CUDA faster than the CPU from 128 x 128 up (``docs/model.md`` §6).

Usage::

    python benchmarks/device_latency.py --grids 64 128 256 --seeds 0 2 --budget 40
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

#: mode → the committee's parameters besides the members' device
MODES: dict[str, dict[str, Any]] = {
    "full": {},
    "fast_bg": {"refit_every": 5, "refit_lag": 2},
}


def committee(mode: str, device: str) -> dict[str, Any]:
    """Return the committee spec of ``mode`` with its deep-kernel member on ``device``."""
    return {
        "name": "committee",
        "params": {
            **MODES[mode],
            "members": [
                {"name": "spatial_dkl", "params": {"device": device}},
                {"name": "gp_coords", "params": {"device": "cpu"}},
            ],
        },
    }


def main(argv: list[str] | None = None) -> None:
    import torch

    from autoscope.bench.methods import Method, run_method
    from autoscope.bench.runner import evaluate_run
    from autoscope.bench.tasks import build_task

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--grids", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--seeds", type=int, nargs=2, default=(0, 2))
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--pace", type=float, default=0.3)
    ap.add_argument("--task", default="stem")
    args = ap.parse_args(argv)
    devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    for grid in args.grids:
        for mode in args.modes:
            for device in devices:
                walls, later, steps = [], [], []
                for seed in range(*args.seeds):
                    task = build_task(args.task, seed, shape=grid)
                    method = Method(f"{mode}_{device}", device, "recommender",
                                    committee(mode, device), "ei")  # fmt: skip
                    res = run_method(task, method, seed, budget=args.budget, n_seed=10,
                                     pace=args.pace)  # fmt: skip
                    walls += list(res.wall)
                    later += list(res.wall[1:])  # without the first fit from scratch
                    steps.append(evaluate_run(res, task, args.budget)["steps"])
                w = np.asarray(walls) * 1e3
                where = torch.cuda.get_device_name() if device == "cuda" else "one CPU thread"
                print(
                    f"{grid}x{grid} {mode:7s} {device:4s} ({where}): decision median "
                    f"{np.median(w):.1f} ms, p95 {np.percentile(w, 95):.1f} ms, "
                    f"p95 after 1st {np.percentile(np.asarray(later) * 1e3, 95):.1f} ms "
                    f"({len(w)} decisions); steps to the top 1 % per seed {steps}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
