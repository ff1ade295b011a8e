"""The instrument-idle table of PERF.md §8 (the table ``autoscope bench --perf`` writes).

Usage::

    python benchmarks/perf_runs/idle/run_idle.py OUT.json
"""

from __future__ import annotations

import json
import os
import sys
import time

from autoscope.bench import idle


def main(out: str) -> None:
    """Measure every dwell and mode over seeds 0-2; print the table, write the rows to ``out``."""
    t, load0 = time.time(), os.getloadavg()
    rows = idle.idle_table(
        (0.05, 0.3, 1.0), modes=["plain", "overlap", "overlap_fast"], seeds=(0, 1, 2),
        log=sys.stdout,
    )  # fmt: skip
    print("\n".join(idle.idle_markdown(rows, 64, 30)))
    with open(out, "w") as fh:
        json.dump(rows, fh, indent=1, default=float)
    print(f"took {time.time() - t:.0f} s, load {load0} at the start, {os.getloadavg()} at the end")


if __name__ == "__main__":
    main(sys.argv[1])
