"""Profile the decisions of one closed-loop run: what makes the slow ones slow.

Runs the default recommender (the committee, EI) on one benchmark task as the benchmark
does, with every decision under :mod:`cProfile`, and writes a text report: per decision
the CPU time, the update path (``train`` / ``condition`` / ``promote``), whether the
weights were re-initialised, the Adam steps and the time per member; then the
functions that take the time in the slow decisions (> 2x the median) and in the
others. ``benchmarks/profiles/`` keeps the reports quoted in ``benchmarks/PERF.md``.

Usage::

    python benchmarks/profile_decisions.py --task stem --shape 64 --budget 50 \
        --model '{"name": "committee"}' --out benchmarks/profiles/full_stem64.txt
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    from autoscope.bench.methods import initial_order
    from autoscope.bench.tasks import build_task
    from autoscope.recommender import DKLRecommender

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--task", default="stem")
    ap.add_argument("--shape", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--n-seed", type=int, default=10)
    ap.add_argument("--model", default='{"name": "committee"}', help="model spec (JSON)")
    ap.add_argument("--out", default=None, help="write the report here (default: print)")
    args = ap.parse_args(argv)

    task = build_task(args.task, args.seed, shape=args.shape)
    rec = DKLRecommender(task.image, task.patch_size, "ei", args.seed, model=json.loads(args.model))
    rng = np.random.default_rng([args.seed, 1])
    ids = [int(c) for c in initial_order(task.n_candidates, args.seed)[: args.n_seed]]
    pending = [{"_id": c, "value": task.measure(c, rng)} for c in ids]
    rows, profiles = [], []
    for step in range(args.budget - args.n_seed):
        prof = cProfile.Profile()
        t0, c0 = time.perf_counter(), time.process_time()
        prof.enable()
        rec.ingest(pending)
        point = rec.suggest(1)[0]
        prof.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        d = rec.last_decision
        members = rec._fit.report.get("members", [rec._fit.report])
        rows.append(
            {
                "step": step,
                "n": d["n_train"],
                "wall": wall,
                "cpu": cpu,
                "update": d.get("update"),
                "trigger": d.get("update_trigger"),
                "reinit": [bool(m.get("reinit")) for m in members],
                "iters": [int(m.get("iterations", 0)) for m in members],
                "member_s": [round(float(m.get("seconds", 0.0)), 3) for m in members],
                "predict": d["timings"].get("predict", 0.0),
            }
        )
        profiles.append(prof)
        cid = int(point["_id"])
        pending = [{"_id": cid, "value": task.measure(cid, rng)}]
    print(_report(args, rows, profiles), file=open(args.out, "w") if args.out else None)


def _report(args, rows, profiles) -> str:
    wall = np.array([r["cpu"] for r in rows])  # CPU time: robust to a loaded machine
    med = float(np.median(wall))
    slow = [k for k, w in enumerate(wall) if w > 2 * med]
    out = io.StringIO()
    print(
        f"# {args.task} {args.shape}x{args.shape}, seed {args.seed}, budget {args.budget}, "
        f"model {args.model}",
        file=out,
    )
    print(
        f"decisions {len(wall)}, CPU time with cProfile on: median {med * 1e3:.0f} ms, p95 "
        f"{np.percentile(wall, 95) * 1e3:.0f} ms, max {wall.max() * 1e3:.0f} ms; "
        f"slow (> 2x median): steps {slow}",
        file=out,
    )
    print(
        "\nstep  n   cpu_ms  update            trigger   reinit          iters      member_s",
        file=out,
    )
    for r in rows:
        print(
            f"{r['step']:4d} {r['n']:3d} {r['cpu'] * 1e3:7.0f}  {r['update']!s:17s} "
            f"{r['trigger']!s:9s} {r['reinit']!s:15s} {r['iters']!s:10s} {r['member_s']}",
            file=out,
        )
    for title, keys in (
        ("slow decisions", slow),
        ("other decisions", [k for k in range(len(rows)) if k not in slow]),
    ):
        if not keys:
            continue
        stats = pstats.Stats(profiles[keys[0]], stream=out)
        for k in keys[1:]:
            stats.add(profiles[k])
        print(f"\n## {title} ({len(keys)}), cumulative time", file=out)
        stats.sort_stats("cumulative").print_stats(18)
    return out.getvalue()


if __name__ == "__main__":
    main()
