"""Held-out trials: variants of a recommender on seeds the benchmark never uses.

Model changes are judged here first (``HELDOUT.md``): each variant is a model spec
and a policy spec, run with the benchmark protocol (same tasks, seed points, noise
and budget as ``autoscope bench``) on seed ranges chosen in advance, one process per
run. Prints the median steps to the true top 1 %, the map error and the 95 %
coverage per variant and task, and writes one JSON line per run.

Usage::

    python benchmarks/heldout.py --tasks spm --seeds 200-229,300-359 --jobs 2 \\
        --variant default '{"name": "spatial_dkl"}' \\
        --variant floor '{"name": "spatial_dkl", "params": {"position_floor": 0.05}}'

A variant takes an optional third argument, the policy spec (``"ei"`` otherwise), and
``--options`` passes further ``DKLRecommender`` options (JSON) to every variant.
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import get_context

import numpy as np


def run_one(job: tuple[str, str, int, dict, object, dict]) -> dict:
    """Run one variant on one task and seed; return its scored record."""
    import torch

    torch.set_num_threads(1)
    from autoscope.bench.methods import Method, run_method
    from autoscope.bench.runner import evaluate_run
    from autoscope.bench.tasks import build_task

    variant, task_name, seed, model, policy, options = job
    task = build_task(task_name, seed)
    method = Method(variant, variant, "recommender", model, policy, options=options)
    t0 = time.perf_counter()
    res = run_method(task, method, seed, budget=100, n_seed=10)
    rec = evaluate_run(res, task, 100)
    return {
        "variant": variant,
        "task": task_name,
        "seed": seed,
        "steps": rec["steps"],
        "map_error": rec["map_error"],
        "coverage95": rec["coverage95"],
        "seconds": time.perf_counter() - t0,
        "error": res.error,
    }


def parse_seeds(text: str) -> list[int]:
    """``"200-229,300-359"`` -> the seeds in those inclusive ranges."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tasks", default="spm")
    ap.add_argument("--seeds", default="200-229")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--variant", nargs="+", action="append", default=[], metavar="NAME MODEL [POLICY]"
    )
    ap.add_argument("--options", default="{}")
    ap.add_argument("--out", default=None, help="JSON-lines file of every run")
    ap.add_argument("--summarise", default=None, help="only summarise this JSON-lines file")
    args = ap.parse_args(argv)
    if args.summarise:
        with open(args.summarise) as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        for key in sorted({(r["variant"], r["task"]) for r in records}):
            rows = [r for r in records if (r["variant"], r["task"]) == key]
            print(f"{key[0]:>14s} {key[1]:9s} {summary(rows)}")
        return
    if not args.variant:
        ap.error("give at least one --variant NAME MODEL_JSON [POLICY_JSON]")
    options = json.loads(args.options)
    seeds = parse_seeds(args.seeds)
    tasks = args.tasks.split(",")
    variants = [
        (v[0], json.loads(v[1]), json.loads(v[2]) if len(v) > 2 else "ei") for v in args.variant
    ]
    # seed-major, so that a run stopped early has every variant on the same seeds
    jobs = [(n, t, s, m, p, options) for t in tasks for s in seeds for n, m, p in variants]
    t0 = time.perf_counter()
    records = []
    with get_context("spawn").Pool(args.jobs) as pool, open(args.out or "/dev/null", "w") as fh:
        for rec in pool.imap_unordered(run_one, jobs, chunksize=1):
            records.append(rec)
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
    print(f"{len(records)} runs in {time.perf_counter() - t0:.0f} s, seeds {args.seeds}")
    for v in args.variant:
        for t in tasks:
            rows = [r for r in records if r["variant"] == v[0] and r["task"] == t]
            if rows:
                print(f"{v[0]:>14s} {t:9s} {summary(rows)}", flush=True)


def summary(rows: list[dict]) -> str:
    """Median steps (unfound = 999) with a bootstrap 90 % interval, map error, coverage."""
    st = np.array([r["steps"] if r["steps"] is not None else 999 for r in rows], dtype=float)
    boot = np.random.default_rng(0).choice(st, size=(2000, len(st)))
    lo, hi = np.percentile(np.median(boot, axis=1), [5, 95])
    errors = sum(bool(r["error"]) for r in rows)
    return (
        f"n={len(st)} steps median {np.median(st):5.1f} [90% CI {lo:.1f}-{hi:.1f}] "
        f"map error {np.median([r['map_error'] for r in rows]):.2f} "
        f"coverage {np.median([r['coverage95'] for r in rows]):.2f} "
        f"{np.mean([r['seconds'] for r in rows]):.0f} s/run, errors {errors}"
    )


if __name__ == "__main__":
    main()
