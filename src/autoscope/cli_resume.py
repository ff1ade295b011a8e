"""``autoscope resume UID [--catalog DIR | --tiled-uri URI --api-key K]``: finish a crashed run.

Loads the run, rebuilds its simulated instrument from the run's own record
(``start["autoscope"]["instrument"]``: class, seed and sample), and runs
:func:`autoscope.plans.dkl_resume` under a fresh RunEngine writing to the same catalog.
A real instrument cannot be rebuilt from a record: resume such a run from IPython or the
queueserver with ``dkl_resume(microscope, uid)``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from autoscope.errors import InputDataError

__all__ = ["HELP", "add_resume_arguments", "instrument_from_record", "run_resume"]

HELP = "finish the budget of a dkl_explore run that ended early, in a new run linked to it"

_SIM_CLASSES = ("SimMicroscope", "SimSTEM", "SimSPM")


def add_resume_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``resume`` arguments to ``p``."""
    p.add_argument("uid", help="uid (or a unique prefix) of the run to finish")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--catalog", default=None, help="embedded catalog directory")
    where.add_argument("--tiled-uri", default=None, help="Tiled server URI (http[s]://...)")
    p.add_argument("--api-key", default=None, help="API key of the Tiled server")
    p.add_argument(
        "--max-failures",
        type=int,
        default=5,
        help="failed points in a row that end the run as a detector failure (default 5)",
    )


def instrument_from_record(record: dict[str, Any]) -> Any:
    """Rebuild a simulated instrument from a run's ``instrument`` record.

    Raises
    ------
    InputDataError
        The record is not that of a simulated instrument autoscope can rebuild.
    """
    from autoscope.devices import sim as sim_devices
    from autoscope.sim import make_sample

    cls, sample = record.get("class"), record.get("sample") or {}
    if cls not in _SIM_CLASSES or not sample.get("kind"):
        raise InputDataError(
            f"the run's instrument ({cls or 'unknown'}) is not a simulated one that can be "
            "rebuilt from its record; resume it with dkl_resume(microscope, uid) in IPython "
            "or through the queueserver"
        )
    rows, cols = (int(v) for v in sample["shape"])
    shape = (rows, cols)
    made = make_sample(sample["kind"], shape=shape, seed=int(sample["seed"]),
                       **(sample.get("params") or {}))  # fmt: skip
    seed = record.get("seed")
    return getattr(sim_devices, cls)(sample=made, seed=seed, name=record.get("name", "microscope"))


def run_resume(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``autoscope resume``; return the exit code (1 when the new run failed)."""
    from bluesky import RunEngine

    from autoscope import storage, trace
    from autoscope.plans import dkl_resume
    from autoscope.plans.resume import check_recovered

    if args.api_key is not None and args.tiled_uri is None:
        parser.error("--api-key needs --tiled-uri")
    check_recovered(args.uid)  # before the catalog, which may not hold the run yet
    # a reader first: a mistyped --catalog is an error, never a new, empty catalog
    client = storage.open_catalog(
        args.tiled_uri or args.catalog, api_key=args.api_key, create=False
    )
    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop)
    try:
        old = trace.load(args.uid, catalog=client)
        microscope = instrument_from_record(dict(old.specs.get("instrument") or {}))
        # the catalog is searched: a run resumed already is refused before anything moves
        plan = dkl_resume(microscope, old, catalog=client, max_failures=args.max_failures)
        engine.subscribe(storage.make_writer(client))
        (uid,) = engine(plan)  # type: ignore[misc]  # a tuple of uids by default
        new = trace.load(uid, catalog=client)
        stop = new.stop or {}
        print(
            f"resumed {old.uid} ({old.n_measured} measured) as {uid}: {new.n_measured} more, "
            f"{old.n_measured + new.n_measured} of {old.specs['budget']}; "
            f"{stop.get('exit_status')} ({stop.get('reason')})"
        )
        return 0 if stop.get("exit_status") == "success" else 1
    finally:
        if engine.state != "idle":
            engine.halt()
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join(timeout=5)
        loop.close()
        storage.close_catalog(client)
