"""A Channel Access IOC that serves a simulated sample: ``autoscope ioc --sample stem --prefix P:``.

The IOC plays the role of the instrument PC: it owns the probe and the detectors
and answers over EPICS Channel Access (caproto). PVs, under a prefix ``P:``:

======================  =====  ===================================================
PV                      type   meaning
======================  =====  ===================================================
``PROBE:X``             float  probe x setpoint (grid units); a put completes when
                               the probe is there; refused outside the limits
``PROBE:X_RBV``         float  probe x readback
``PROBE:Y``, ``_RBV``   float  the same for y
``GRID:SHAPE``          int[]  (H, W) of the scan grid
``GRID:PIXEL_SIZE``     float  grid units per pixel
``GRID:UNITS``          str    units of positions (``nm``)
``ACQUIRE``             int    put 1: measure a spectrum at the probe's pixel; the put
                               completes when ``SPECTRUM`` holds it (0 again)
``SPECTRUM``            float  the last spectrum, flattened (``SPECTRUM:SHAPE``)
``SPECTRUM:ROW/COL``    int    pixel of the last spectrum
``SPECTRUM:UNITS``      str    units of spectrum values
``AXIS``                float  spectral axis (L,); ``AXIS:NAME``, ``AXIS:UNITS``
``DWELL``               float  spectrum acquisition time, s
``IMAGE:ACQUIRE``       int    put 1: acquire the structural image; completes when
                               ``IMAGE`` holds it
``IMAGE``               float  the structural image, flattened (``IMAGE:SHAPE``)
``IMAGE:TIME``          float  image acquisition time, s
``STATUS``              str    ``Idle``, ``Moving``, ``Acquiring`` or ``Error``
``ERROR``               str    why the last action failed ("" once an action succeeds)
``SAMPLE:KIND``         str    the sample's kind; ``SAMPLE:SEED`` its seed
``SAMPLE:DESCRIPTION``  str    the sample's ``describe()`` as JSON (simulators only)
======================  =====  ===================================================

Serving is loopback-only unless other interfaces are asked for; caproto leaves
``TCP_NODELAY`` off, which stalls overlapping puts ~40 ms, so it is set on every
accepted connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from typing import Any

import numpy as np
from caproto import ChannelType
from caproto.asyncio.server import Context
from caproto.server import PVGroup, pvproperty

from autoscope.devices._detectors import check_time
from autoscope.devices._grid import ScanGrid
from autoscope.devices.sim import _check_sample, _rng
from autoscope.errors import InputDataError

__all__ = ["make_ioc", "run_ioc", "serve_environment"]

logger = logging.getLogger(__name__)

_LONG = {"dtype": ChannelType.CHAR, "max_length": 1024, "string_encoding": "utf-8"}


def _ioc_class(n_spectrum: int, n_axis: int, n_image: int) -> type[PVGroup]:
    """Build a PVGroup class whose waveforms have exactly the sample's lengths."""

    class SampleIOC(PVGroup):
        probe_x = pvproperty(name="PROBE:X", value=0.0, doc="probe x setpoint")
        probe_x_rbv = pvproperty(name="PROBE:X_RBV", value=0.0, read_only=True)
        probe_y = pvproperty(name="PROBE:Y", value=0.0, doc="probe y setpoint")
        probe_y_rbv = pvproperty(name="PROBE:Y_RBV", value=0.0, read_only=True)
        grid_shape = pvproperty(name="GRID:SHAPE", value=[1, 1], max_length=2, read_only=True)
        grid_pixel_size = pvproperty(name="GRID:PIXEL_SIZE", value=1.0, read_only=True)
        grid_units = pvproperty(name="GRID:UNITS", value="px", read_only=True, **_LONG)
        acquire = pvproperty(name="ACQUIRE", value=0, doc="put 1 to measure a spectrum")
        spectrum = pvproperty(
            name="SPECTRUM", value=[0.0] * n_spectrum, max_length=n_spectrum, read_only=True
        )
        spectrum_shape = pvproperty(name="SPECTRUM:SHAPE", value=[1], max_length=4, read_only=True)
        spectrum_row = pvproperty(name="SPECTRUM:ROW", value=0, read_only=True)
        spectrum_col = pvproperty(name="SPECTRUM:COL", value=0, read_only=True)
        spectrum_units = pvproperty(name="SPECTRUM:UNITS", value="", read_only=True, **_LONG)
        axis = pvproperty(name="AXIS", value=[0.0] * n_axis, max_length=n_axis, read_only=True)
        axis_name = pvproperty(name="AXIS:NAME", value="", read_only=True, **_LONG)
        axis_units = pvproperty(name="AXIS:UNITS", value="", read_only=True, **_LONG)
        dwell = pvproperty(name="DWELL", value=0.0, doc="spectrum acquisition time, s")
        image_acquire = pvproperty(name="IMAGE:ACQUIRE", value=0, doc="put 1 to acquire")
        image = pvproperty(name="IMAGE", value=[0.0] * n_image, max_length=n_image, read_only=True)
        image_shape = pvproperty(name="IMAGE:SHAPE", value=[1, 1], max_length=3, read_only=True)
        image_units = pvproperty(name="IMAGE:UNITS", value="", read_only=True, **_LONG)
        image_time = pvproperty(name="IMAGE:TIME", value=0.0, doc="image acquisition time, s")
        status = pvproperty(name="STATUS", value="Idle", read_only=True, **_LONG)
        error = pvproperty(name="ERROR", value="", read_only=True, **_LONG)
        sample_kind = pvproperty(name="SAMPLE:KIND", value="", read_only=True, **_LONG)
        sample_seed = pvproperty(name="SAMPLE:SEED", value=-1, read_only=True)
        sample_description = pvproperty(
            name="SAMPLE:DESCRIPTION", value="{}", read_only=True,
            dtype=ChannelType.CHAR, max_length=16384, string_encoding="utf-8",
        )  # fmt: skip

        def __init__(
            self, sample: Any, *, seed: int | None, move_time: float, times: tuple, **kw: Any
        ) -> None:
            super().__init__(**kw)
            self.initial_times = times
            self.sample = sample
            self.rng = _rng(seed)
            self.move_time = move_time
            h, w = (int(n) for n in np.shape(sample.image)[:2])
            self.grid = ScanGrid((h, w), float(sample.pixel_size), str(sample.pixel_units))
            self.busy = 0

        async def _fail(self, message: str) -> None:
            await self.error.write(message[:1000])
            await self.status.write("Error")
            logger.warning("%s", message)

        async def _state(self, delta: int, name: str) -> None:
            self.busy += delta
            await self.status.write(name if self.busy > 0 else "Idle")

        async def _move(self, axis: str, readback: Any, instance: Any, value: float) -> float:
            try:
                target = self.grid.check_position(axis, value)
            except InputDataError as exc:
                await self._fail(str(exc))
                raise
            distance = abs(target - instance.value) / self.grid.pixel_size
            await self.error.write("")
            await self._state(+1, "Moving")
            try:
                if self.move_time and distance:
                    await asyncio.sleep(self.move_time * distance)
                await readback.write(target)
            finally:
                await self._state(-1, "Moving")
            return target

        @probe_x.putter  # type: ignore[no-redef]
        async def probe_x(self, instance: Any, value: float) -> float:
            return await self._move("x", self.probe_x_rbv, instance, value)

        @probe_y.putter  # type: ignore[no-redef]
        async def probe_y(self, instance: Any, value: float) -> float:
            return await self._move("y", self.probe_y_rbv, instance, value)

        @acquire.putter  # type: ignore[no-redef]
        async def acquire(self, instance: Any, value: int) -> int:
            if not value:
                return 0
            await self.error.write("")
            await self._state(+1, "Acquiring")
            try:
                row, col = self.grid.position_to_pixel(
                    self.probe_x_rbv.value, self.probe_y_rbv.value
                )
                dwell = check_time("DWELL", self.dwell.value)
                if dwell:
                    await asyncio.sleep(dwell)
                measured = np.asarray(self.sample.measure(row, col, rng=self.rng), dtype=float)
                await self.spectrum_row.write(row)
                await self.spectrum_col.write(col)
                await self.spectrum.write(measured.ravel().tolist())
            except Exception as exc:
                await self._fail(f"ACQUIRE failed: {type(exc).__name__}: {exc}")
                raise
            finally:
                await self._state(-1, "Acquiring")
            return 0

        @image_acquire.putter  # type: ignore[no-redef]
        async def image_acquire(self, instance: Any, value: int) -> int:
            if not value:
                return 0
            await self._state(+1, "Acquiring")
            try:
                delay = check_time("IMAGE:TIME", self.image_time.value)
                if delay:
                    await asyncio.sleep(delay)
                await self.image.write(np.asarray(self.sample.image, float).ravel().tolist())
            except Exception as exc:
                await self._fail(f"IMAGE:ACQUIRE failed: {type(exc).__name__}: {exc}")
                raise
            finally:
                await self._state(-1, "Acquiring")
            return 0

        @dwell.putter  # type: ignore[no-redef]
        async def dwell(self, instance: Any, value: float) -> float:
            return check_time("DWELL", value)

        @image_time.putter  # type: ignore[no-redef]
        async def image_time(self, instance: Any, value: float) -> float:
            return check_time("IMAGE:TIME", value)

        @status.startup  # type: ignore[no-redef]
        async def status(self, instance: Any, async_lib: Any) -> None:
            s = self.sample
            await self.grid_shape.write(list(self.grid.shape))
            await self.grid_pixel_size.write(self.grid.pixel_size)
            await self.grid_units.write(self.grid.units)
            await self.spectrum_shape.write([int(n) for n in s.spectrum_shape])
            await self.spectrum_units.write(str(getattr(s, "spectrum_units", "")))
            await self.axis.write(np.asarray(s.axis, float).tolist())
            await self.axis_name.write(str(getattr(s, "axis_name", "")))
            await self.axis_units.write(str(getattr(s, "axis_units", "")))
            await self.image_shape.write([int(n) for n in np.shape(s.image)])
            await self.image_units.write(str(getattr(s, "image_units", "")))
            await self.sample_kind.write(str(getattr(s, "kind", type(s).__name__)))
            seed = getattr(s, "seed", None)
            await self.sample_seed.write(-1 if seed is None else int(seed))
            describe = getattr(s, "describe", None)
            await self.sample_description.write(json.dumps(describe() if describe else {}))
            await self.dwell.write(self.initial_times[0])
            await self.image_time.write(self.initial_times[1])

    return SampleIOC


def make_ioc(
    sample: Any,
    prefix: str,
    *,
    seed: int | None = None,
    dwell: float = 0.0,
    move_time: float = 0.0,
    image_time: float = 0.0,
) -> PVGroup:
    """Build the IOC's PV group for ``sample`` under ``prefix``.

    Parameters
    ----------
    sample : BaseSample
        The specimen served (``image`` H x W [x C], ``axis`` (L,), ``measure``, ...).
    prefix : str
        PV prefix, e.g. ``"AUTOSCOPE:"``.
    seed : int, optional
        Seed of the spectral noise.
    dwell, image_time : float
        Initial spectrum and image acquisition times, s.
    move_time : float
        Probe travel time per pixel of distance, s/px.

    Returns
    -------
    caproto.server.PVGroup
        Its ``pvdb`` is what a caproto server serves.

    Raises
    ------
    ValueError
        If ``sample`` is not a sample, ``prefix`` is empty, or a time is invalid.
    """
    _check_sample(sample)
    if not isinstance(prefix, str) or not prefix.strip():
        raise InputDataError(f"prefix must be a non-empty string like 'P:', got {prefix!r}")
    cls = _ioc_class(
        int(np.prod(sample.spectrum_shape)), len(sample.axis), int(np.size(sample.image))
    )
    times = (check_time("dwell", dwell), check_time("image_time", image_time))
    return cls(
        sample, seed=seed, move_time=check_time("move_time", move_time), times=times, prefix=prefix
    )


def serve_environment(port: int | None = None, interfaces: str = "127.0.0.1") -> dict[str, str]:
    """Environment variables that keep a CA server (and its beacons) on ``interfaces``.

    Parameters
    ----------
    port : int, optional
        ``EPICS_CA_SERVER_PORT`` (TCP and UDP); 5064 when omitted.
    interfaces : str
        Space-separated interface addresses to serve on; loopback by default.
    """
    env = {
        "EPICS_CAS_INTF_ADDR_LIST": interfaces,
        "EPICS_CAS_BEACON_ADDR_LIST": interfaces,
        "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
    }
    if port is not None:
        env["EPICS_CA_SERVER_PORT"] = str(int(port))
    return env


class _NoBeaconNoise(logging.Filter):
    """Drop caproto's traceback for beacons nobody listens to (no CA repeater running)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to send beacon")


class _NoDelayContext(Context):
    """A caproto asyncio server that turns Nagle's algorithm off on every client socket."""

    async def tcp_handler(self, client: Any, addr: Any) -> Any:
        sock = client.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return await super().tcp_handler(client, addr)


def run_ioc(ioc: PVGroup, *, port: int | None = None, interfaces: str = "127.0.0.1") -> None:
    """Serve ``ioc`` until interrupted (loopback only unless ``interfaces`` says otherwise).

    Parameters
    ----------
    ioc : caproto.server.PVGroup
        From :func:`make_ioc`.
    port : int, optional
        CA server port (``EPICS_CA_SERVER_PORT``); clients list ``host:port``.
    interfaces : str
        Space-separated addresses to serve on.
    """
    os.environ.update(serve_environment(port, interfaces))
    logging.getLogger("caproto.ctx").addFilter(_NoBeaconNoise())

    async def main() -> None:
        ctx = _NoDelayContext(ioc.pvdb, interfaces.split())
        await ctx.run(log_pv_names=False)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
