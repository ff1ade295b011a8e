"""The benchmark: every method on every task over several seeds, closed loop, in-process.

``autoscope bench`` runs it from the command line; in Python::

    from autoscope.bench import BenchConfig, run_benchmark, summarize, write_report
    config = BenchConfig.quick_config()
    result = run_benchmark(config, "bench-out")
    write_report(result, summarize(result), "bench-out")

No Bluesky, Ophyd or Tiled here: the recommender is driven directly against the
samples' ``measure`` and ``truth`` (see ``docs/benchmark.md``).
"""

from __future__ import annotations

from autoscope.bench.methods import METHODS, Method, RunResult, run_method
from autoscope.bench.metrics import (
    map_error,
    random_steps_expected,
    random_steps_quantile,
    regret_curve,
    steps_to_top,
    top_mask,
)
from autoscope.bench.report import write_report
from autoscope.bench.runner import BenchConfig, run_benchmark
from autoscope.bench.summary import summarize
from autoscope.bench.tasks import TASKS, Task, build_task

__all__ = [
    "METHODS",
    "TASKS",
    "BenchConfig",
    "Method",
    "RunResult",
    "Task",
    "build_task",
    "map_error",
    "random_steps_expected",
    "random_steps_quantile",
    "regret_curve",
    "run_benchmark",
    "run_method",
    "steps_to_top",
    "summarize",
    "top_mask",
    "write_report",
]
