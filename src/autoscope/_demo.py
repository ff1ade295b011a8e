"""The demo experiment: a simulated instrument, one DKL run stored in Tiled, its summary.

:func:`demo` (public as :func:`autoscope.cli.demo`) builds the instrument, runs
:func:`autoscope.plans.dkl_explore` under a RunEngine with a progress bar, stores the run and
computes the summary (and report) from the stored trace. :func:`demo_from_args` is the one
place that turns the options of ``autoscope demo`` into a :func:`demo` call, whichever
instrument runs it (:mod:`autoscope.cli` for ``sim``, ``autoscope._demo_instruments`` for the
ophyd-async ones).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path
from typing import Any

__all__ = ["build_instrument", "close_engine", "demo", "demo_from_args"]


def build_instrument(kind: str, shape: int, seed: int) -> Any:
    """Build the demo instrument: SimSTEM, SimSPM, or a SimMicroscope on a 4D-STEM sample."""
    from autoscope.devices.sim import SimMicroscope, SimSPM, SimSTEM
    from autoscope.sim import make_sample

    sample = make_sample(kind, shape=(shape, shape), seed=seed)
    if kind == "stem":
        return SimSTEM(sample=sample, seed=seed)
    if kind == "spm":
        return SimSPM(sample=sample, seed=seed)
    return SimMicroscope(sample, seed=seed)


def close_engine(engine: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Halt ``engine`` if it is running, stop its event ``loop`` and close the loop."""
    if engine.state != "idle":
        engine.halt()
    loop.call_soon_threadsafe(loop.stop)
    if getattr(engine, "_th", None) is not None:
        engine._th.join(timeout=5)
    if not loop.is_running():
        loop.close()


def _run_plan(
    client, microscope, scalarizer, policy, budget, n_seed, patch_size, seed, progress, engine=None
):
    """Run dkl_explore on ``engine`` (default: a fresh one) into ``client``; (uid, interrupted)."""
    from bluesky import RunEngine
    from bluesky.utils import RunEngineInterrupted

    from autoscope import storage
    from autoscope.live import ExplorationProgress
    from autoscope.plans import dkl_explore

    plan = dkl_explore(
        microscope,
        scalarizer,
        policy=policy,
        budget=budget,
        n_seed=n_seed,
        patch_size=patch_size,
        seed=seed,
    )
    own = engine is None
    loop = asyncio.new_event_loop() if own else engine.loop
    engine = RunEngine({}, loop=loop) if own else engine
    tokens = []
    try:
        tokens.append(engine.subscribe(storage.make_writer(client)))
        tokens.append(engine.subscribe(ExplorationProgress(total=budget, disable=not progress)))
        try:
            (uid,) = engine(plan)  # a tuple of uids by default
            return uid, False
        except RunEngineInterrupted:  # Ctrl-C pauses; abort keeps a complete trace
            # the RunEngine logs the expected RequestAbort with its traceback: the summary
            # printed afterwards says the run was interrupted
            re_log = logging.getLogger("bluesky")
            level = re_log.level
            re_log.setLevel(logging.CRITICAL)
            try:
                (uid,) = engine.abort("interrupted from the command line")
            finally:
                re_log.setLevel(level)
            return uid, True
    finally:
        for token in tokens:
            engine.unsubscribe(token)
        if own:
            close_engine(engine, loop)


def demo(
    sample: str = "stem",
    policy: str | dict = "ei",
    scalarizer: str | dict | None = None,
    budget: int = 80,
    n_seed: int = 10,
    shape: int = 64,
    patch_size: int = 16,
    seed: int = 0,
    *,
    catalog: str | None = None,
    tiled_uri: str | None = None,
    api_key: str | None = None,
    report: str | Path | None = None,
    write_report: bool = True,
    progress: bool = True,
    microscope: Any = None,
    engine: Any = None,
) -> dict[str, Any]:
    """Run the demo experiment and return its summary.

    Builds the instrument, runs :func:`autoscope.plans.dkl_explore` under a RunEngine with a
    progress bar, stores the run (``autoscope.storage``), loads it back with
    :func:`autoscope.trace.load` and computes the summary (and report) from the stored trace.

    Parameters
    ----------
    sample, policy, scalarizer, budget, n_seed, shape, patch_size, seed
        As the command-line options of ``autoscope demo``; ``shape`` is the grid side in pixels,
        ``scalarizer=None`` is the sample's ``default_scalarizer``.
    catalog, tiled_uri, api_key
        Where to store the run (see :func:`autoscope.storage.open_catalog`).
    report : str or path, optional
        Report directory (default ``./autoscope-report/<uid8>``).
    write_report, progress : bool
        Write the report; show the progress bar (stderr).
    microscope : SimMicroscope, optional
        An instrument already built by :func:`build_instrument` (then ``sample``, ``shape`` and
        ``seed`` only name it), or any other instrument (then give ``scalarizer``).
    engine : RunEngine, optional
        The RunEngine to run on (an ophyd-async instrument is connected on its loop); kept open.

    Returns
    -------
    dict
        :func:`autoscope.report.summarize` of the run plus ``"report"`` (path of ``index.html`` or
        ``None``), ``"catalog"`` and ``"wall_s"`` (s, from the start of this call).
    """
    from autoscope import report as _report
    from autoscope import storage, trace

    t0 = time.perf_counter()
    if microscope is None:
        microscope = build_instrument(sample, shape, seed)
    scalarizer = scalarizer if scalarizer is not None else microscope.sample.default_scalarizer
    client = storage.open_catalog(tiled_uri or catalog, api_key=api_key)
    try:
        uid, interrupted = _run_plan(
            client, microscope, scalarizer, policy, budget, n_seed, patch_size, seed, progress,
            engine,
        )  # fmt: skip
        tr = trace.load(uid, catalog=client)  # everything below comes from the stored run
        truth_sample = tr.sample()
        summary = _report.summarize(tr, truth_sample)
        summary["report"] = None
        if write_report:
            out = Path(report) if report is not None else Path("autoscope-report") / uid[:8]
            summary["report"] = str(_report.make_report(tr, out, sample=truth_sample))
    finally:
        storage.close_catalog(client)
    summary["interrupted"] = interrupted
    summary["catalog"] = tiled_uri or str(Path(catalog or storage.default_catalog_dir()))
    summary["wall_s"] = time.perf_counter() - t0
    return summary


def demo_from_args(
    args: argparse.Namespace,
    microscope: Any,
    scalarizer: Any,
    shape: int,
    engine: Any = None,
) -> dict[str, Any]:
    """Run :func:`demo` with the options of ``autoscope demo`` on an instrument already built.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options (sample, policy, budget, n_seed, patch_size, seed, catalog,
        tiled_uri, api_key, report, no_report, no_progress).
    microscope
        The instrument.
    scalarizer : str, dict or None
        The scalarizer spec (``None``: the instrument's sample's own).
    shape : int
        Grid side in pixels (the instrument's, for an instrument that is not simulated here).
    engine : RunEngine, optional
        The RunEngine the instrument is connected on (ophyd-async instruments).
    """
    return demo(
        args.sample,
        args.policy,
        scalarizer,
        args.budget,
        args.n_seed,
        shape,
        args.patch_size,
        args.seed,
        catalog=args.catalog,
        tiled_uri=args.tiled_uri,
        api_key=args.api_key,
        report=args.report,
        write_report=not args.no_report,
        progress=not args.no_progress,
        microscope=microscope,
        engine=engine,
    )
