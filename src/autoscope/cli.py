"""The ``autoscope`` command line: one subcommand per job.

``autoscope demo`` is the main job: a simulated instrument, one autonomous DKL experiment under a
Bluesky RunEngine with a progress bar, the run stored in a Tiled catalog, a summary on stdout and a
report directory (PNG panels + ``index.html``) made from the stored run.

Exit codes: 0 success, 1 a run-time error (message on stderr), 2 bad arguments (argparse),
130 interrupted with Ctrl-C (the run is aborted, its trace kept and reported).

Subcommands are registered in ``COMMANDS`` (name → (add_arguments, run)); later work adds
``bench``, ``replay``, ``ioc`` there. ``autoscope serve`` (:mod:`autoscope.storage.cli`) writes
the Tiled server config of a catalog directory and runs the server with an API key.

Every catalog failure (missing or wrong key, server down, unreachable host, a path that is a file
or not writable) is a :class:`~autoscope.errors.StorageError`: one line on stderr, exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from autoscope import __version__
from autoscope._argtypes import nonnegative_int, positive_int, spec_arg
from autoscope._demo import build_instrument, demo, demo_from_args
from autoscope._demo_instruments import INSTRUMENTS, run_demo_on_instrument
from autoscope.bench.cli import HELP as BENCH_HELP
from autoscope.bench.cli import add_bench_arguments, run_bench
from autoscope.cli_resume import HELP as RESUME_HELP
from autoscope.cli_resume import add_resume_arguments, run_resume
from autoscope.devices.cli import IOC_HELP, add_ioc_arguments, run_ioc_command
from autoscope.errors import AutoscopeError
from autoscope.remote.cli import HELP as DECIDE_SERVER_HELP
from autoscope.remote.cli import add_decide_server_arguments, run_decide_server
from autoscope.replay.cli import HELP as REPLAY_HELP
from autoscope.replay.cli import add_replay_arguments, run_replay
from autoscope.storage.cli import HELP as SERVE_HELP
from autoscope.storage.cli import add_serve_arguments, run_serve
from autoscope.storage.recover import RECOVER_HELP, add_recover_arguments, run_recover

__all__ = ["COMMANDS", "build_instrument", "build_parser", "demo", "main"]

SAMPLES = ("stem", "spm", "fourd")


# -- demo ------------------------------------------------------------------------------------
def _add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--instrument",
        choices=INSTRUMENTS,
        default="sim",
        help="in-process ophyd sim, ophyd-async sim, a running IOC (autoscope ioc), or Nion's "
        "simulator (default sim)",
    )
    p.add_argument("--prefix", default="AUTOSCOPE:", help="IOC PV prefix (--instrument epics)")
    p.add_argument(
        "--sample",
        choices=SAMPLES,
        default="stem",
        help="simulated instrument: STEM-EELS, SPM hysteresis loops, 4D-STEM (default stem)",
    )
    p.add_argument(
        "--policy",
        type=spec_arg,
        default="ei",
        help="acquisition policy: a name (ei, ucb, maxvar, ...) or a JSON spec (default ei)",
    )
    p.add_argument(
        "--scalarizer",
        type=spec_arg,
        default=None,
        help="scalarizer name or JSON spec (default: the sample's own)",
    )
    p.add_argument(
        "--budget",
        type=positive_int,
        default=80,
        help="number of spectra to measure, seeds included (default 80)",
    )
    p.add_argument(
        "--n-seed",
        type=positive_int,
        default=10,
        help="random seed measurements before the model decides (default 10)",
    )
    p.add_argument(
        "--shape",
        type=positive_int,
        default=64,
        help="grid size in pixels, the sample is shape x shape (default 64)",
    )
    p.add_argument(
        "--patch-size",
        type=positive_int,
        default=16,
        help="side of the image patch around each candidate, px (default 16)",
    )
    p.add_argument(
        "--seed",
        type=nonnegative_int,
        default=0,
        help="seed of the sample, the noise and the model (default 0)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--catalog",
        metavar="DIR",
        default=None,
        help="embedded Tiled catalog directory (default: $AUTOSCOPE_CATALOG or "
        "~/.local/share/autoscope/catalog)",
    )
    where.add_argument(
        "--tiled-uri", metavar="URI", default=None, help="a Tiled server, http(s)://host:port"
    )
    p.add_argument(
        "--api-key", default=None, help="API key of the Tiled server (default $TILED_API_KEY)"
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        default=None,
        help="report directory (default ./autoscope-report/<uid8>)",
    )
    p.add_argument("--no-report", action="store_true", help="write no report")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _check_demo_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Cross-argument checks that argparse cannot express; ``parser.error`` exits with 2."""
    if args.api_key is not None and args.tiled_uri is None:
        parser.error("--api-key needs --tiled-uri")
    if args.tiled_uri is not None and not args.tiled_uri.startswith(("http://", "https://")):
        parser.error(f"--tiled-uri must start with http:// or https://, got {args.tiled_uri!r}")
    if args.shape < 8:
        parser.error(f"--shape must be >= 8 pixels, got {args.shape}")
    if args.patch_size > args.shape:
        parser.error(f"--patch-size {args.patch_size} does not fit in a {args.shape}-pixel grid")
    if args.n_seed > args.budget:
        parser.error(f"--n-seed ({args.n_seed}) must not exceed --budget ({args.budget})")
    if args.report is not None and args.no_report:
        parser.error("--report and --no-report exclude each other")
    if args.report is not None:  # an unwritable report folder fails now, not after the run
        try:
            Path(args.report).expanduser().mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            parser.error(f"--report {args.report}: cannot create it ({exc.strerror or exc})")
    from autoscope import scalarizers

    if args.scalarizer is not None:
        try:
            scalarizers.from_spec(args.scalarizer)
        except ValueError as exc:
            parser.error(f"--scalarizer: {exc}")


def _run_demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    _check_demo_args(args, parser)
    from autoscope.plans import dkl_explore
    from autoscope.report import format_summary

    if args.instrument != "sim":  # ophyd-async instruments: opened with their RunEngine
        return run_demo_on_instrument(args, parser)
    microscope = build_instrument(args.sample, args.shape, args.seed)
    try:  # build (not run) the plan once: it validates specs against the instrument
        dkl_explore(
            microscope,
            args.scalarizer or microscope.sample.default_scalarizer,
            policy=args.policy,
            budget=args.budget,
            n_seed=args.n_seed,
            patch_size=args.patch_size,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    summary = demo_from_args(args, microscope, args.scalarizer, args.shape)
    print(format_summary(summary))
    if summary["interrupted"]:
        print(
            "autoscope demo: interrupted (Ctrl-C): the run was aborted and stored", file=sys.stderr
        )
        return 130
    return 0


# -- the parser ------------------------------------------------------------------------------
#: subcommand name → (help, add_arguments(parser), run(args, parser) -> exit code).
#: Later work registers ``bench``, ``replay`` and ``ioc`` here.
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "demo": (
        "run a simulated autonomous experiment and write its report",
        _add_demo_arguments,
        _run_demo,
    ),
    "serve": (SERVE_HELP, add_serve_arguments, run_serve),
    "bench": (BENCH_HELP, add_bench_arguments, run_bench),
    "replay": (REPLAY_HELP, add_replay_arguments, run_replay),
    "ioc": (IOC_HELP, add_ioc_arguments, run_ioc_command),
    "recover": (RECOVER_HELP, add_recover_arguments, run_recover),
    "resume": (RESUME_HELP, add_resume_arguments, run_resume),
    "decide-server": (DECIDE_SERVER_HELP, add_decide_server_arguments, run_decide_server),
}


def _quiet_tiled_startup(record: logging.LogRecord) -> bool:
    """Keep tiled's in-process app quiet below WARNING (its "Tiled version ..." start-up line).

    Every command that opens an embedded catalog starts tiled's app in-process, which logs
    its version at INFO through its own stderr handler; warnings and errors still pass.
    ``autoscope serve`` runs a real server and keeps that line.
    """
    return record.levelno >= logging.WARNING


def build_parser() -> argparse.ArgumentParser:
    """Build the ``autoscope`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="autoscope", description="Autonomous microscopy with deep kernel learning on Bluesky."
    )
    parser.add_argument("--version", action="version", version=f"autoscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, add_arguments, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add_arguments(p)
        p.set_defaults(_run=run, _parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``autoscope`` console script; returns the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command != "serve":
        logging.getLogger("tiled.server.app").addFilter(_quiet_tiled_startup)
    try:
        return args._run(args, args._parser)
    except AutoscopeError as exc:
        print(f"autoscope {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # any other file or network failure: one line, not a traceback
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"autoscope {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run's own is handled and summarised)
        print(f"autoscope {args.command}: interrupted", file=sys.stderr)
        return 130
