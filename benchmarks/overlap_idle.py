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
import os
import platform
import tempfile

import numpy as np


def run_once(shape: int, dwell: float, budget: int, seed: int, overlap: bool, catalog) -> dict:
    """One run; return the idle per point (s) between model-chosen spectra and the wall time."""
    from autoscope.bench.idle import idle_run

    mode = "overlap" if overlap else "plain"
    r = idle_run(catalog, mode, dwell, shape=shape, budget=budget, n_seed=10, seed=seed)
    # gaps ending at a model-chosen spectrum (the first one follows the last seed)
    idle = ([r["first_idle"]] if np.isfinite(r["first_idle"]) else []) + r["idle"]
    return {"idle": idle, "wall": r["wall"], "decide": r["decide"]}


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
