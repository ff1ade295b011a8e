"""``autoscope bench``: run the benchmark and write ``RESULTS.md`` + plots.

Registered in :mod:`autoscope.cli` as ``"bench": (help, add_bench_arguments, run_bench)``
(or with :func:`add_bench_parser` on any ``argparse`` sub-parsers object). Importing
this module is cheap: the benchmark itself is imported when the command runs.

Examples
--------
>>> import argparse
>>> from autoscope.bench.cli import add_bench_arguments
>>> p = argparse.ArgumentParser()
>>> add_bench_arguments(p)
>>> args = p.parse_args(["--quick", "--tasks", "stem,spm", "--seeds", "2"])
>>> args.quick, args.tasks, args.seeds
(True, ['stem', 'spm'], 2)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from autoscope._argtypes import nonnegative_int, positive_int
from autoscope.errors import InputDataError

__all__ = [
    "HELP",
    "add_bench_arguments",
    "add_bench_parser",
    "config_from_args",
    "run_bench",
    "terminal_summary",
]

HELP = "benchmark every method on every task over several seeds; write RESULTS.md and plots"


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to a parser."""
    p.add_argument(
        "--quick",
        action="store_true",
        help="small CI run: 2 seeds, 32x32 grids, 8x8 patches, budget 30, "
        "tasks stem,spm, methods dkl_ei,gp_coords,random,raster (options below still win); "
        "with --perf: every table in about a minute (32x32, one seed, task stem)",
    )
    p.add_argument(
        "--seeds", type=positive_int, default=None, help="number of seeds 0..n-1 (default 5)"
    )
    p.add_argument(
        "--tasks",
        type=_names,
        default=None,
        help="comma-separated tasks (default all: stem,spm,fourd,beps,unrelated,stem128)",
    )
    p.add_argument(
        "--methods",
        type=_names,
        default=None,
        help="comma-separated methods (default all, with the atomai reference row; atomai_like "
        "where atomai is not installed)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="autoscope-bench",
        help="output directory (default ./autoscope-bench)",
    )
    p.add_argument(
        "--budget", type=positive_int, default=None, help="measurements per run (default 100)"
    )
    p.add_argument(
        "--n-seed", type=positive_int, default=None, help="random seed points (default 10)"
    )
    p.add_argument(
        "--shape", type=positive_int, default=None, help="grid side in pixels (default 64)"
    )
    p.add_argument("--patch-size", type=positive_int, default=None, help="patch side (default 16)")
    p.add_argument(
        "--jobs",
        type=nonnegative_int,
        default=None,
        help="worker processes, one fresh process per task x method (0: in this process; "
        "default 1, --quick 0)",
    )
    p.add_argument("--resume", action="store_true", help="reuse finished jobs stored in DIR/runs")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="only rebuild the report from the jobs stored in DIR/runs (implies --resume)",
    )
    p.add_argument(
        "--markdown",
        metavar="PATH",
        default=None,
        help="also write the markdown report to PATH (plot links made relative to it)",
    )
    p.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    p.add_argument(
        "--perf",
        action="store_true",
        help="decision latency (median, p95) and discovery of the full-retrain and fast-update "
        "modes side by side on several grid sides, with atomai's dklGPR as a timed reference "
        "row where atomai is installed, the instrument idle per point per dwell "
        "(plain, overlap, overlap+fast) and the discovery of the overlapped and batch modes; "
        "writes DIR/PERF.md (autoscope.bench.perf)",
    )
    p.add_argument(
        "--grids",
        type=_sides,
        default=None,
        help="with --perf: comma-separated grid sides (default 64,128,256)",
    )
    p.add_argument(
        "--dwells",
        type=_dwells,
        default=None,
        help="with --perf: comma-separated spectral dwells in s of the instrument-idle table "
        "(default 0.05,0.3,1; 0: no idle table)",
    )
    p.add_argument(
        "--pace",
        type=float,
        default=None,
        help="with --perf: seconds the simulated instrument takes per measurement between the "
        "timed decisions, when background retrains run (default 0.3; 0: back to back)",
    )


def _dwells(text: str) -> list[float]:
    try:
        values = [float(t) for t in _names(text)]
    except ValueError:
        msg = f"expected dwells in s like 0.05,0.3,1, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    return [] if values == [0.0] else values


def _sides(text: str) -> list[int]:
    return [positive_int(t) for t in _names(text)]


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``bench`` on an ``argparse`` sub-parsers object; return its parser."""
    p = subparsers.add_parser("bench", help=HELP, description=HELP)
    add_bench_arguments(p)
    p.set_defaults(_run=run_bench, _parser=p)
    return p


def config_from_args(args: argparse.Namespace):
    """Build the :class:`~autoscope.bench.runner.BenchConfig` the arguments ask for."""
    from autoscope.bench.runner import BenchConfig

    over: dict[str, Any] = {}
    for name in ("tasks", "methods", "budget", "n_seed", "shape", "patch_size", "jobs"):
        value = getattr(args, name, None)
        if value is not None:
            over[name] = value
    if args.seeds is not None:
        over["seeds"] = list(range(args.seeds))
    config = BenchConfig.quick_config(**over) if args.quick else BenchConfig(**over)
    config.validate()
    return config


def run_bench(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Run ``autoscope bench``; return the exit code.

    0 whenever every job ran, whatever the targets say (a target missed is a finding of the
    benchmark, not a broken install); errors raise :class:`~autoscope.errors.AutoscopeError`.
    """
    from autoscope.bench.report import write_report
    from autoscope.bench.runner import run_benchmark
    from autoscope.bench.summary import summarize

    if getattr(args, "perf", False):
        return _run_perf(args)
    if getattr(args, "grids", None) is not None:
        raise InputDataError("--grids is a --perf option (use --shape for the benchmark)")
    if getattr(args, "dwells", None) is not None:
        raise InputDataError("--dwells is a --perf option")
    if getattr(args, "pace", None) is not None:
        raise InputDataError("--pace is a --perf option")
    config = config_from_args(args)
    result = run_benchmark(
        config,
        args.out,
        resume=args.resume or args.report_only,
        run_missing=not args.report_only,
    )
    summary = summarize(result)
    md = write_report(
        result, summary, args.out, plots=not args.no_plots, markdown_path=args.markdown
    )
    print(terminal_summary(summary, config, md), file=sys.stdout)
    return 0


#: what a verdict reads as on the terminal when the run's settings are not the targets'
_REDUCED = {"PASS": "met here", "FAIL": "not met here"}


def _settings(config: Any) -> str:
    return (
        f"{config.shape}x{config.shape} grid, {config.patch_size}x{config.patch_size} patches, "
        f"budget {config.budget}, {len(config.seeds)} seed(s)"
    )


def terminal_summary(summary: dict[str, Any], config: Any, report: Any) -> str:
    """Say what a benchmark run checked, in words a newcomer reads correctly.

    The targets are defined for the full settings (64x64 grid, 16x16 patches, at least
    5 seeds). A run at other settings (``--quick``, fewer seeds, smaller grids) only shows
    that everything runs: its target lines are labelled as information ("met here",
    "not met here"), never PASS/FAIL, and the text says how to check the targets.

    Parameters
    ----------
    summary : dict
        :func:`autoscope.bench.summary.summarize` output (``targets``).
    config : BenchConfig
        The settings that ran.
    report : str or path
        Where ``RESULTS.md`` was written.

    Returns
    -------
    str
        Lines for the terminal.

    Examples
    --------
    >>> from autoscope.bench.runner import BenchConfig
    >>> t = {"verdict": "FAIL", "task": "stem", "target": "steps <= 34", "measured": "40",
    ...      "note": "settings differ"}
    >>> text = terminal_summary({"targets": [t]}, BenchConfig.quick_config(), "R.md")
    >>> "FAIL" in text, "not met here" in text, "the install works" in text
    (False, True, True)
    """
    targets = summary["targets"]
    # a 128x128 row is only reported (its note says so); other notes mean reduced settings
    reduced = bool(config.quick) or any(
        t.get("note") and t.get("verdict") != "reported" for t in targets
    )
    lines = [f"autoscope bench: all jobs ran; report in {report}"]
    if reduced:
        kind = "a quick run" if config.quick else "a run at reduced settings"
        lines += [
            f"This was {kind} ({_settings(config)}): it shows that the install works and "
            "every method runs.",
            "The targets are defined for the full settings (64x64 grid, 16x16 patches, "
            "budget 100, 5 seeds or more); at these settings they are shown for "
            "information only, not as a verdict:",
        ]
    for t in targets:
        verdict = _REDUCED.get(t["verdict"], t["verdict"]) if reduced else t["verdict"]
        lines.append(f"  {verdict:12s} {t['task']:9s} {t['target']}: {t['measured']}")
    if reduced:
        lines.append(
            "To check the targets, run `autoscope bench` without --quick "
            "(about an hour of jobs on 2 cores)."
        )
    else:
        failed = sum(t["passed"] is False for t in targets)
        if failed:
            lines.append(f"  {failed} target(s) not met at the full settings (see the report)")
    return "\n".join(lines)


#: benchmark options that --perf does not use
_NOT_PERF = ("methods", "shape", "patch_size", "jobs", "resume", "report_only", "markdown")


def _run_perf(args: argparse.Namespace) -> int:
    from autoscope.bench.perf import PerfConfig, run_perf

    other = [f"--{n.replace('_', '-')}" for n in _NOT_PERF if getattr(args, n, None)]
    if other:
        raise InputDataError(f"--perf does not take {', '.join(other)}")
    over: dict[str, Any] = {}
    for name, key in (("tasks", "tasks"), ("grids", "grids"), ("budget", "budget")):
        if getattr(args, name, None) is not None:
            over[key] = getattr(args, name)
    if args.n_seed is not None:
        over["n_seed"] = args.n_seed
    if args.seeds is not None:
        over["seeds"] = list(range(args.seeds))
    if getattr(args, "dwells", None) is not None:
        over["dwells"] = args.dwells
    if getattr(args, "pace", None) is not None:
        over["pace"] = args.pace
    config = PerfConfig.quick_config(**over) if args.quick else PerfConfig(**over)
    run_perf(config, args.out, log=sys.stdout)
    print(f"autoscope bench --perf: wrote {args.out}/PERF.md", file=sys.stdout)
    return 0
