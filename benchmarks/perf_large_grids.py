"""The decision-latency rows of ``autoscope bench --perf`` at 128 x 128 and 256 x 256.

The same code as ``bench --perf`` (:func:`autoscope.bench.perf.run_perf`), without the
idle and discovery tables (they run at 64 x 64) and without the atomai row: the default
(``full``), the sliced fast path and the background fast path (``FAST_COMMITTEE``), tasks
``stem`` and ``spm``, seeds 0-1, budget 60 (50 decisions per run, so each run's first fit
is 2 % of the decisions), 0.3 s of simulated measurement between decisions. Output in
``benchmarks/perf_runs/large_grids/`` (quoted in PERF.md).

Usage::

    python benchmarks/perf_large_grids.py OUT_DIR
"""

from __future__ import annotations

import sys
import time

from autoscope.bench.perf import PerfConfig, run_perf


def main(out: str) -> None:
    """Run the rows; write ``out/perf.json`` and ``out/PERF.md``."""
    cfg = PerfConfig(
        grids=[128, 256], modes=["full", "fast_sliced", "fast_bg"], tasks=["stem", "spm"],
        seeds=[0, 1], budget=60, dwells=[], discovery_modes=[],
    )  # fmt: skip
    t = time.time()
    run_perf(cfg, out, log=sys.stdout)
    print(f"took {time.time() - t:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1])
