"""The instruments ``autoscope demo --instrument ...`` runs on, each opened with its RunEngine.

``sim`` is the in-process ophyd v1 instrument (built by :func:`autoscope.cli.build_instrument`);
the others are ophyd-async devices that must be connected on the event loop of
the RunEngine that will run the plan, so each is opened here together with that
RunEngine:

- ``sim-async``: :class:`autoscope.devices.sim_async.SimAsyncMicroscope` on the
  chosen sample;
- ``epics``: :class:`autoscope.devices.epics.EpicsMicroscope` on an IOC already
  serving ``--prefix`` (``autoscope ioc`` in another shell);
- ``nion-usim``: :class:`autoscope.devices.nion.NionMicroscope` on Nion's STEM
  simulator, started headless.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from autoscope._demo import close_engine, demo_from_args
from autoscope.errors import AutoscopeError

__all__ = ["INSTRUMENTS", "OpenInstrument", "open_instrument", "run_demo_on_instrument"]

#: names accepted by ``autoscope demo --instrument``
INSTRUMENTS = ("sim", "sim-async", "epics", "nion-usim")

#: the plasmon band of nionswift-usim's EELS (eV), the Nion demo's default scalarizer
NION_DEFAULT_SCALARIZER = {"name": "band_integral", "params": {"low": 10.0, "high": 25.0}}


@dataclass
class OpenInstrument:
    """A connected instrument, the RunEngine it is connected on, and a default scalarizer."""

    microscope: Any
    engine: Any
    default_scalarizer: Any


def _engine() -> tuple[Any, asyncio.AbstractEventLoop]:
    from bluesky import RunEngine

    loop = asyncio.new_event_loop()
    return RunEngine({}, loop=loop), loop


def _connect(microscope: Any, engine: Any, timeout: float, what: str) -> None:
    from ophyd_async.core import NotConnectedError

    future = asyncio.run_coroutine_threadsafe(microscope.connect(timeout=timeout), engine.loop)
    try:
        future.result(timeout + 30)
    except NotConnectedError as exc:
        pvs = [w.removeprefix("ca://") for w in str(exc).split() if w.startswith("ca://")]
        first = f", e.g. {pvs[0]}" if pvs else ""
        raise AutoscopeError(
            f"{what} did not answer within {timeout:g} s ({len(pvs)} PVs unanswered{first}); "
            "start one with 'autoscope ioc --prefix PREFIX' and point EPICS_CA_ADDR_LIST at it"
        ) from None


@contextlib.contextmanager
def open_instrument(
    instrument: str,
    *,
    sample: str = "stem",
    shape: int = 64,
    seed: int = 0,
    prefix: str = "AUTOSCOPE:",
    timeout: float = 5.0,
) -> Iterator[OpenInstrument]:
    """Open a demo instrument (``sim-async``, ``epics`` or ``nion-usim``) with its RunEngine.

    Parameters
    ----------
    instrument : {"sim-async", "epics", "nion-usim"}
    sample, shape, seed
        The simulated sample of ``sim-async`` (``nion-usim``: the scan is ``shape`` square).
    prefix : str
        PV prefix of the IOC (``epics``).
    timeout : float
        Seconds to wait for the IOC's PVs (``epics``).

    Raises
    ------
    AutoscopeError
        When no IOC answers under ``prefix``.
    ValueError
        For an unknown instrument name.
    """
    if instrument not in INSTRUMENTS[1:]:
        raise AutoscopeError(f"unknown instrument {instrument!r}; one of {INSTRUMENTS[1:]}")
    engine, loop = _engine()
    try:
        if instrument == "sim-async":
            from autoscope.devices.sim_async import SimAsyncMicroscope
            from autoscope.sim import make_sample

            s: Any = make_sample(sample, shape=(shape, shape), seed=seed)
            mic: Any = SimAsyncMicroscope(s, seed=seed)
            _connect(mic, engine, timeout, "the simulated instrument")
            yield OpenInstrument(mic, engine, s.default_scalarizer)
        elif instrument == "epics":
            from autoscope.devices.epics import EpicsMicroscope

            mic = EpicsMicroscope(prefix)
            where = os.environ.get("EPICS_CA_ADDR_LIST") or "the local network (auto address list)"
            _connect(mic, engine, timeout, f"no IOC under prefix {prefix!r} (searched {where})")
            yield OpenInstrument(mic, engine, _ioc_default_scalarizer(mic))
        else:
            from autoscope.devices.nion import usim_instrument

            with usim_instrument((shape, shape)) as mic:
                _connect(mic, engine, 30.0, "Nion's simulator")
                yield OpenInstrument(mic, engine, NION_DEFAULT_SCALARIZER)
    finally:
        close_engine(engine, loop)


def _ioc_default_scalarizer(mic: Any) -> Any:
    from autoscope.sim import make_sample

    info = mic.sample_info
    if info.get("kind") not in ("stem", "spm", "fourd"):
        raise AutoscopeError(f"the IOC's sample is {info.get('kind')!r}: give --scalarizer for it")
    shape = tuple(info.get("shape") or mic.grid.shape)
    built: Any = make_sample(info["kind"], shape=shape, seed=info.get("seed") or 0,
                        **dict(info.get("params") or {}))  # fmt: skip
    return built.default_scalarizer


def run_demo_on_instrument(args: Any, parser: Any) -> int:
    """``autoscope demo --instrument sim-async|epics|nion-usim``: open, run, summarise."""
    from autoscope.report import format_summary

    if args.instrument == "nion-usim" and args.shape > 256:
        parser.error("--shape must be <= 256 with --instrument nion-usim")
    with open_instrument(
        args.instrument, sample=args.sample, shape=args.shape, seed=args.seed, prefix=args.prefix
    ) as opened:
        mic = opened.microscope
        if args.patch_size > min(mic.grid.shape):
            parser.error(f"--patch-size {args.patch_size} does not fit the {mic.grid.shape} grid")
        scalarizer = args.scalarizer or opened.default_scalarizer
        summary = demo_from_args(args, mic, scalarizer, min(mic.grid.shape), opened.engine)
    summary["instrument"] = args.instrument
    print(format_summary(summary))
    return 130 if summary["interrupted"] else 0
