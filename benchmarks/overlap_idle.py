"""Instrument idle per point with and without ``dkl_explore(overlap=True)``, side by side.

The README pattern — the default embedded catalog written through the default writer,
a ``SimSTEM`` of ``--shape`` pixels with a spectral dwell of ``--dwell`` s, the default
committee model and EI — runs ``--budget`` points once as a plain run (decide, then
measure) and once overlapped (the next decision computed while the current point is
measured), for each of ``--seeds``. The idle per point is the gap between two
consecutive model-chosen spectra (``primary`` event times) minus the dwell: the time the
instrument was not measuring.

Usage::

    python benchmarks/overlap_idle.py --shape 64 --dwell 0.3 --budget 30 --seeds 0 1 \
        --markdown benchmarks/OVERLAP.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time

import numpy as np


def run_once(shape: int, dwell: float, budget: int, seed: int, overlap: bool, catalog) -> dict:
    """One run; return the idle per point (s) between model-chosen spectra and the wall time."""
    from bluesky import RunEngine

    from autoscope.devices.sim import SimSTEM
    from autoscope.plans import dkl_explore
    from autoscope.storage import make_writer

    mic = SimSTEM(shape=(shape, shape), seed=seed, dwell=dwell)
    times: list[tuple[float, str]] = []
    decide: list[float] = []
    streams: dict[str, str] = {}

    def collect(name, doc):
        if name == "descriptor":
            streams[doc["uid"]] = doc["name"]
        elif name == "event" and streams.get(doc["descriptor"]) == "primary":
            times.append((doc["time"], doc["data"]["point_phase"]))
        elif name == "event" and doc["data"].get("decision_chosen_id", -1) >= 0:
            decide.append(doc["data"]["decision_t_total"])

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    try:
        engine.subscribe(make_writer(catalog))
        engine.subscribe(collect)
        plan = dkl_explore(mic, mic.sample.default_scalarizer, "ei", budget=budget, n_seed=10,
                           patch_size=16, seed=seed, overlap=overlap)  # fmt: skip
        t0 = time.perf_counter()
        engine(plan)
        wall = time.perf_counter() - t0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    # gaps ending at a model-chosen spectrum (the first one follows the last seed)
    idle = [b - a - dwell for (a, _), (b, p) in zip(times, times[1:], strict=False) if p == "dkl"]
    return {"idle": idle, "wall": wall, "decide": decide}


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print (or write) a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, default=64)
    ap.add_argument("--dwell", type=float, default=0.3)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--markdown", default=None, help="write the table to this file")
    args = ap.parse_args(argv)

    from autoscope.storage import close_catalog, open_catalog

    rows = []
    with tempfile.TemporaryDirectory() as directory:
        catalog = open_catalog(directory)
        try:
            for overlap in (False, True):
                idle, walls, decide = [], [], []
                for seed in args.seeds:
                    r = run_once(args.shape, args.dwell, args.budget, seed, overlap, catalog)
                    idle += r["idle"]
                    decide += r["decide"]
                    walls.append(r["wall"])
                ms = 1e3 * np.asarray(idle)
                rows.append((overlap, np.median(ms), np.percentile(ms, 95), ms.max(), len(ms),
                             np.median(walls), 1e3 * np.median(decide)))  # fmt: skip
        finally:
            close_catalog(catalog)
    lines = [
        f"SimSTEM {args.shape}x{args.shape}, dwell {args.dwell} s, budget {args.budget} "
        f"(10 seeds), committee + EI, embedded catalog + default writer; seeds {args.seeds}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "",
        "| mode | idle per point, median (ms) | p95 (ms) | max (ms) | gaps | run wall, median (s) "
        "| decision `t_total`, median (ms) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for overlap, med, p95, mx, n, wall, dec in rows:
        name = "overlap=True" if overlap else "plain (default)"
        lines.append(
            f"| {name} | {med:.1f} | {p95:.1f} | {mx:.1f} | {n} | {wall:.1f} | {dec:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
