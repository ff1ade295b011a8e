"""Discovery against measurement count for batches of q = 1, 4, 16 points per decision.

Each run is the plan's own loop (:class:`~autoscope.recommender.batch.BatchSession`,
what ``dkl_explore(batch_size=q)`` drives) on a benchmark task (:mod:`autoscope.bench`),
fed the task's noisy ``measure`` instead of an instrument, with the benchmark's seed
points (``initial_order``), noise and recommender seed, so the q rows differ only in the
batch size. Discovery is the number of measurements up to the first one in the true
top 1 % (``steps_to_top``); a run that never finds it counts as ``budget + 1``.

Usage::

    python benchmarks/batch_discovery.py --tasks stem spm --shape 32 --budget 40 \
        --seeds 0 1 2 --markdown benchmarks/BATCH.md
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def run_batches(task, q: int, seed: int, budget: int, n_seed: int) -> dict:
    """One closed-loop run in batches of ``q``; measured ids, decisions and decision time."""
    from autoscope.bench.methods import METHODS, _noise_rng, initial_order
    from autoscope.recommender import DKLRecommender
    from autoscope.recommender.batch import BatchSession

    method = METHODS["committee_ei"]
    rec = DKLRecommender(task.image, patch_size=task.patch_size, policy=method.policy,
                         seed=seed, model=method.model, stride=task.stride)  # fmt: skip
    rng = _noise_rng(seed)
    seeds = [int(c) for c in initial_order(task.n_candidates, seed)[:n_seed]]
    session = BatchSession(rec, task.n_candidates, budget, seed_ids=seeds,
                           rng=np.random.default_rng([seed, 3]))  # fmt: skip
    order, decisions, t_decide = [], 0, 0.0
    while True:
        t0 = time.perf_counter()
        steps = session.next_batch(q)
        if steps[0].stop:
            break
        if steps[0].phase != "seed":
            decisions += 1
            t_decide += time.perf_counter() - t0
        for st in steps:
            session.record(st.chosen_id, task.measure(st.chosen_id, rng))
            order.append(st.chosen_id)
    return {"order": order, "decisions": decisions, "t_decide": t_decide}


def main(argv: list[str] | None = None) -> None:
    """Run every task, q and seed; print (or append) a Markdown table."""
    from autoscope.bench.metrics import steps_to_top, top_mask
    from autoscope.bench.tasks import build_task

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=["stem", "spm"])
    ap.add_argument("--shape", type=int, default=32)
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--n-seed", type=int, default=10)
    ap.add_argument("--qs", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args(argv)

    lines = [
        f"Tasks {args.tasks} at {args.shape}x{args.shape} (patch 16), budget {args.budget} "
        f"({args.n_seed} seeds), committee + EI, seeds {args.seeds}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "",
        "| task | q | steps to top 1 %, median | per seed | found | decisions | "
        "decision time per run, median (s) |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for name in args.tasks:
        for q in args.qs:
            steps, found, decisions, times = [], 0, [], []
            for seed in args.seeds:
                task = build_task(name, seed, shape=args.shape)
                r = run_batches(task, q, seed, args.budget, args.n_seed)
                t = steps_to_top(r["order"], top_mask(task.truth))
                found += t is not None
                steps.append(args.budget + 1 if t is None else t)
                decisions.append(r["decisions"])
                times.append(r["t_decide"])
            lines.append(
                f"| {name} | {q} | {np.median(steps):g} | {', '.join(map(str, steps))} | "
                f"{found}/{len(args.seeds)} | {np.median(decisions):g} | {np.median(times):.2f} |"
            )
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
