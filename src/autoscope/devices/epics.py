"""The instrument over EPICS Channel Access, with ophyd-async's CA backend.

:class:`EpicsMicroscope` talks to any IOC that serves the PVs of
:mod:`autoscope.devices.ioc` (``autoscope ioc`` or the instrument PC's own IOC):
probe setpoints with put-completion, an ``ACQUIRE`` whose put completes when the
spectrum is ready, flattened spectrum and image waveforms with their shapes,
the spectral axis, dwell, status and error. Reading keys are those of the
in-process instruments (``microscope_probe_x``, ``microscope_spectrometer_spectrum``, ...).

Channel Access is configured by the usual environment variables; for a
loopback IOC on port ``N``: ``EPICS_CA_ADDR_LIST=127.0.0.1:N`` and
``EPICS_CA_AUTO_ADDR_LIST=NO`` (:func:`client_environment`). Importing this
module raises ``EPICS_CA_MAX_ARRAY_BYTES`` (unless set) so images fit.

Examples
--------
>>> mic = EpicsMicroscope("AUTOSCOPE:")
>>> mic.probe.x.setpoint.source
'ca://AUTOSCOPE:PROBE:X'
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import numpy as np

os.environ.setdefault("EPICS_CA_MAX_ARRAY_BYTES", str(64 * 1024 * 1024))

from bluesky.protocols import Reading  # noqa: E402
from event_model import DataKey  # noqa: E402
from ophyd_async.core import Array1D, AsyncStatus, SignalR, StandardReadable  # noqa: E402
from ophyd_async.core import StandardReadableFormat as Format  # noqa: E402
from ophyd_async.epics.core import epics_signal_r, epics_signal_rw  # noqa: E402

from autoscope.devices._grid import ScanGrid  # noqa: E402
from autoscope.devices.async_base import (  # noqa: E402
    AsyncInstrument,
    AsyncProbe,
    IntrospectedDetector,
    ProbeAxis,
)
from autoscope.errors import AutoscopeError  # noqa: E402

__all__ = [
    "EpicsMicroscope",
    "EpicsSpectrometer",
    "EpicsStructure",
    "IOCError",
    "client_environment",
]


class IOCError(AutoscopeError, RuntimeError):
    """The IOC refused or failed an action (its ``ERROR`` PV says why)."""


async def _raise_if_failed(error: SignalR[str], action: str) -> None:
    """Raise :class:`IOCError` if the IOC's ``ERROR`` PV holds a message.

    A failed put callback is not reliably reported to an aioca client running in
    a RunEngine's background event loop (the put returns normally), so the
    outcome of every action is read back from the IOC.
    """
    message = await error.get_value()
    if message:
        raise IOCError(f"{action}: {message}")


def client_environment(address: str = "127.0.0.1", port: int | None = None) -> dict[str, str]:
    """Channel Access client variables that search only ``address[:port]``.

    Examples
    --------
    >>> client_environment(port=5100)["EPICS_CA_ADDR_LIST"]
    '127.0.0.1:5100'
    """
    return {
        "EPICS_CA_ADDR_LIST": address if port is None else f"{address}:{int(port)}",
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CA_MAX_ARRAY_BYTES": os.environ.get("EPICS_CA_MAX_ARRAY_BYTES", "67108864"),
    }


class _ShapedArrays(IntrospectedDetector):
    """A detector whose array PVs are flat waveforms reshaped by a ``*:SHAPE`` PV.

    Subclasses fill ``self._arrays = {field: (flat signal, shape signal, units signal)}``;
    ``read()`` returns those fields reshaped (hinted) next to the ordinary readables.
    """

    _arrays: dict[str, tuple[SignalR, SignalR, SignalR]]
    _shapes: dict[str, tuple[int, ...]]

    async def refresh_description(self) -> None:
        """Read the array shapes and units, then take the description snapshot."""
        fields = list(self._arrays)
        shapes = await asyncio.gather(*(self._arrays[f][1].get_value() for f in fields))
        units = await asyncio.gather(*(self._arrays[f][2].get_value() for f in fields))
        self._shapes = {f: tuple(int(n) for n in s) for f, s in zip(fields, shapes, strict=True)}
        await super().refresh_description()
        described = dict(self._described or {})
        for f, u in zip(fields, units, strict=True):
            described[f"{self.name}_{f}"] = DataKey(
                source=self._arrays[f][0].source,
                dtype="array",
                shape=list(self._shapes[f]),
                dtype_numpy=np.dtype(float).str,
                units=str(u),
            )
        self._described = described

    async def read(self) -> dict[str, Reading]:
        """Read the ordinary readables and the reshaped arrays (fresh from the IOC)."""
        fields = list(self._arrays)
        rest, *flats = await asyncio.gather(
            StandardReadable.read(self), *(self._arrays[f][0].read(cached=False) for f in fields)
        )
        out = dict(rest)
        for f, flat in zip(fields, flats, strict=True):
            (reading,) = flat.values()
            value = np.asarray(reading["value"], dtype=float).reshape(self._shapes[f])
            out[f"{self.name}_{f}"] = {**reading, "value": value}
        return out

    @property
    def hints(self) -> dict[str, Any]:  # type: ignore[override]
        """Hint the array fields."""
        return {"fields": [f"{self.name}_{f}" for f in self._arrays]}


class EpicsStructure(_ShapedArrays):
    """The structural-image detector over CA: ``IMAGE:ACQUIRE`` then ``IMAGE`` (reshaped).

    Configuration: ``pixel_size``, ``pixel_units`` (of the grid), ``acquire_time`` (s).
    """

    def __init__(self, prefix: str, name: str = "") -> None:
        self.error = epics_signal_r(str, f"{prefix}ERROR")
        self.acquire = epics_signal_rw(int, f"{prefix}IMAGE:ACQUIRE", wait=True)
        self.flat_image = epics_signal_r(Array1D[np.float64], f"{prefix}IMAGE")
        self.image_shape = epics_signal_r(Array1D[np.int32], f"{prefix}IMAGE:SHAPE")
        self.image_units = epics_signal_r(str, f"{prefix}IMAGE:UNITS")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.pixel_size = epics_signal_r(float, f"{prefix}GRID:PIXEL_SIZE")
            self.pixel_units = epics_signal_r(str, f"{prefix}GRID:UNITS")
            self.acquire_time = epics_signal_rw(float, f"{prefix}IMAGE:TIME")
        self._arrays = {"image": (self.flat_image, self.image_shape, self.image_units)}
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Acquire the image; done when the IOC's put callback says the image is in ``IMAGE``."""
        await self.acquire.set(1, timeout=None)
        await _raise_if_failed(self.error, f"{self.acquire.source} = 1")


class EpicsSpectrometer(_ShapedArrays):
    """The spectrometer over CA: ``ACQUIRE`` (put-complete = spectrum ready) then ``SPECTRUM``.

    Reads ``spectrum`` (reshaped by ``SPECTRUM:SHAPE``), ``row``, ``col``;
    configuration ``axis`` (L,), ``axis_name``, ``axis_units``, ``units``, ``dwell`` (s).
    """

    def __init__(self, prefix: str, name: str = "") -> None:
        self.error = epics_signal_r(str, f"{prefix}ERROR")
        self.acquire = epics_signal_rw(int, f"{prefix}ACQUIRE", wait=True)
        self.flat_spectrum = epics_signal_r(Array1D[np.float64], f"{prefix}SPECTRUM")
        self.spectrum_shape = epics_signal_r(Array1D[np.int32], f"{prefix}SPECTRUM:SHAPE")
        with self.add_children_as_readables(Format.UNCACHED_SIGNAL):
            self.row = epics_signal_r(int, f"{prefix}SPECTRUM:ROW")
            self.col = epics_signal_r(int, f"{prefix}SPECTRUM:COL")
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.axis = epics_signal_r(Array1D[np.float64], f"{prefix}AXIS")
            self.axis_name = epics_signal_r(str, f"{prefix}AXIS:NAME")
            self.axis_units = epics_signal_r(str, f"{prefix}AXIS:UNITS")
            self.units = epics_signal_r(str, f"{prefix}SPECTRUM:UNITS")
            self.dwell = epics_signal_rw(float, f"{prefix}DWELL")
        self._arrays = {"spectrum": (self.flat_spectrum, self.spectrum_shape, self.units)}
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Measure at the probe; done when the IOC's put callback says the spectrum is ready."""
        await self.acquire.set(1, timeout=None)
        await _raise_if_failed(self.error, f"{self.acquire.source} = 1")


class EpicsProbeAxis(ProbeAxis):
    """A probe axis over CA that checks, after the put completes, that the probe got there.

    Parameters
    ----------
    setpoint, readback, grid, axis, name
        As :class:`~autoscope.devices.async_base.ProbeAxis`.
    error : SignalR[str]
        The IOC's ``ERROR`` PV, quoted when the readback is not the target.
    """

    def __init__(self, *args: Any, error: SignalR[str], **kwargs: Any) -> None:
        self.error = error
        super().__init__(*args, **kwargs)

    async def _after_move(self, target: float) -> None:
        at = await self.readback.get_value(cached=False)
        tol = 1e-9 * max(1.0, abs(target))
        if abs(at - target) > tol:
            await _raise_if_failed(self.error, f"{self.setpoint.source} = {target}")
            raise IOCError(f"{self.setpoint.source} = {target}: the probe is at {at}")


class EpicsMicroscope(AsyncInstrument):
    """The instrument over Channel Access: probe, structure and spectrometer of an autoscope IOC.

    The scan grid (shape, pixel size, units) is read from ``GRID:*`` at
    connect, so limits are checked on this side before a put is sent (the
    IOC checks again). Connect before building a plan:
    ``RE(ensure_connected(mic))``.

    Parameters
    ----------
    prefix : str
        PV prefix of the IOC, e.g. ``"AUTOSCOPE:"``.
    name : str
        Device name, the prefix of every reading key.

    Attributes
    ----------
    status, error : SignalR[str]
        The IOC's ``STATUS`` and last ``ERROR`` message.
    """

    def __init__(self, prefix: str, name: str = "microscope") -> None:
        self.prefix = prefix
        axes = {
            a: EpicsProbeAxis(
                epics_signal_rw(float, f"{prefix}PROBE:{a.upper()}", wait=True),
                epics_signal_r(float, f"{prefix}PROBE:{a.upper()}_RBV"),
                self._current_grid,
                a,
                error=epics_signal_r(str, f"{prefix}ERROR"),
            )
            for a in ("x", "y")
        }
        self.probe = AsyncProbe(axes["x"], axes["y"])
        self.structure = EpicsStructure(prefix)
        self.spectrometer = EpicsSpectrometer(prefix)
        self.grid_shape = epics_signal_r(Array1D[np.int32], f"{prefix}GRID:SHAPE")
        self.status = epics_signal_r(str, f"{prefix}STATUS")
        self.error = epics_signal_r(str, f"{prefix}ERROR")
        self.sample_kind = epics_signal_r(str, f"{prefix}SAMPLE:KIND")
        self.sample_seed = epics_signal_r(int, f"{prefix}SAMPLE:SEED")
        self.sample_description = epics_signal_r(str, f"{prefix}SAMPLE:DESCRIPTION")
        self._sample_info: dict[str, Any] = {}
        super().__init__(name=name)

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        """Connect every PV, then read the scan grid and what the IOC says of its sample."""
        await super().connect(*args, **kwargs)
        shape, ps, units, kind, seed, described = await asyncio.gather(
            self.grid_shape.get_value(),
            self.structure.pixel_size.get_value(),
            self.structure.pixel_units.get_value(),
            self.sample_kind.get_value(),
            self.sample_seed.get_value(),
            self.sample_description.get_value(),
        )
        self._grid = ScanGrid((int(shape[0]), int(shape[1])), float(ps), str(units))
        try:
            info = json.loads(described) if described else {}
        except ValueError:
            info = {}
        if not isinstance(info, dict):
            info = {}
        info.setdefault("kind", str(kind))
        info.setdefault("seed", None if seed < 0 else int(seed))
        self._sample_info = info

    def describe_instrument(self) -> dict[str, Any]:
        """Describe the instrument as JSON: backend, prefix, grid, detectors, the IOC's sample."""
        config = {**self.structure.read_configuration(), **self.spectrometer.read_configuration()}

        def value(signal: Any) -> Any:
            reading: Any = config.get(signal.name)
            return None if reading is None else reading["value"]

        return {
            "class": type(self).__name__,
            "backend": "EPICS Channel Access (ophyd-async, aioca)",
            "name": self.name,
            "prefix": self.prefix,
            "grid": self.grid.describe(),
            "limits": {k: list(v) for k, v in self.grid.limits.items()},
            "position_units": self.grid.units,
            "detectors": {
                "structure": {"acquire_time": value(self.structure.acquire_time)},
                "spectrometer": {"dwell": value(self.spectrometer.dwell)},
            },
            "sample": dict(self._sample_info),
        }

    @property
    def sample_info(self) -> dict[str, Any]:
        """What the IOC says of its sample (``SAMPLE:DESCRIPTION``, kind, seed); read at connect."""
        return dict(self._sample_info)
