"""Ophyd-async building blocks of every async instrument: probe axes, detectors, the instrument.

Public: vendor adapters are built from these (``docs/adapters.md``).

The sim (:mod:`autoscope.devices.sim_async`), EPICS (:mod:`autoscope.devices.epics`)
and Nion (:mod:`autoscope.devices.nion`) instruments differ only in where their
signals come from (soft signals, Channel Access, a vendor's Python API); the
shape they present to plans is defined once here:

- :class:`ProbeAxis`: a ``Movable`` whose ``set`` checks the limits of the scan
  grid *before* anything moves, then puts the setpoint and waits for completion;
  it reads as one hinted value named like the axis (``microscope_probe_x``).
- :class:`IntrospectedDetector`: a ``StandardReadable`` whose ``describe``,
  ``describe_configuration`` and ``read_configuration`` are also answered
  *synchronously* from a snapshot taken at ``connect`` and again at every
  ``stage`` of the instrument. Plans inspect detectors when they
  are built (reading keys, spectral axis, pixel size), outside the RunEngine's
  event loop, and the RunEngine accepts either form (``bluesky.protocols``
  allows sync or async).
- :class:`AsyncInstrument`: the ``probe`` / ``structure`` / ``spectrometer``
  device with the pixel ↔ position mapping of its :class:`ScanGrid`.

Reading keys use ``_`` as separator, the same keys as the ophyd v1 instrument.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bluesky.protocols import Movable, Reading
from event_model import DataKey
from ophyd_async.core import (
    AsyncStatus,
    Device,
    SignalR,
    SignalRW,
    StandardReadable,
)
from ophyd_async.core import StandardReadableFormat as Format

from autoscope.devices._grid import ScanGrid
from autoscope.errors import AutoscopeError

__all__ = ["AsyncInstrument", "AsyncProbe", "IntrospectedDetector", "NotConnectedYet", "ProbeAxis"]


class NotConnectedYet(AutoscopeError, RuntimeError):
    """An async device was inspected before ``connect()`` (``ensure_connected``) ran."""


class ProbeAxis(StandardReadable, Movable[float]):
    """One probe axis: setpoint + readback, limits from the scan grid, put-and-wait moves.

    Parameters
    ----------
    setpoint : SignalRW[float]
        Where the probe is asked to go (physical units); its ``set(wait=True)``
        completes when the move is done.
    readback : SignalR[float]
        Where the probe is (physical units); read as the axis' hinted value.
    grid : callable
        ``grid() -> ScanGrid`` giving the current limits.
    axis : {"x", "y"}
    name : str
    """

    def __init__(
        self, setpoint: SignalRW[float], readback: SignalR[float], grid: Any, axis: str,
        name: str = "",
    ) -> None:  # fmt: skip
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.readback = readback
        self.setpoint = setpoint
        self._grid = grid
        self._axis = axis
        super().__init__(name=name)

    def set_name(self, name: str, *, child_name_separator: str | None = None) -> None:
        """Name the axis; its readback reads under the axis' own name (as ophyd's motors do)."""
        super().set_name(name, child_name_separator=child_name_separator)
        self.readback.set_name(name)

    @property
    def limits(self) -> tuple[float, float]:
        """Inclusive limits ``(low, high)`` in the grid's units."""
        return self._grid().limits[self._axis]

    def set(self, value: float) -> AsyncStatus:
        """Move to ``value`` (physical units); the status finishes when the move is done.

        Raises
        ------
        ValueError
            Before anything moves, if ``value`` is not finite or outside the limits.
        """
        target = self._grid().check_position(self._axis, value)
        return AsyncStatus(self._move(target))

    async def _move(self, target: float) -> None:
        await self.setpoint.set(target)
        await self._after_move(target)

    async def _after_move(self, target: float) -> None:
        """Check the move's outcome (backends whose puts can fail silently override this)."""


class AsyncProbe(StandardReadable):
    """The scanning probe: ``x`` (columns) and ``y`` (rows) :class:`ProbeAxis`."""

    def __init__(self, x: ProbeAxis, y: ProbeAxis, name: str = "") -> None:
        with self.add_children_as_readables():
            self.x = x
            self.y = y
        super().__init__(name=name)


class IntrospectedDetector(StandardReadable):
    """A ``StandardReadable`` that also answers description and configuration synchronously.

    After :meth:`connect`, ``describe()``, ``describe_configuration()`` and
    ``read_configuration()`` return dicts (not coroutines) from a snapshot,
    taken again by :meth:`refresh_description` (the instrument's ``stage()``
    calls it before every run, so a changed dwell or axis is what the run
    records). ``read()`` stays asynchronous.
    """

    _described: dict[str, DataKey] | None = None
    _config_described: dict[str, DataKey] | None = None
    _config: dict[str, Reading] | None = None

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        """Connect, then take the description snapshot and subscribe to configuration."""
        await super().connect(*args, **kwargs)
        await self.refresh_description()

    async def refresh_description(self) -> None:
        """Take the description and configuration snapshot now (async)."""
        self._described = await StandardReadable.describe(self)
        self._config_described = await StandardReadable.describe_configuration(self)
        self._config = await StandardReadable.read_configuration(self)

    def _snapshot(self, value: Any) -> Any:
        if value is None:
            raise NotConnectedYet(
                f"{self.name or type(self).__name__} is not connected: run "
                "RE(ophyd_async.plan_stubs.ensure_connected(instrument)) (or await "
                "instrument.connect()) before building a plan"
            )
        return dict(value)

    def describe(self) -> dict[str, DataKey]:  # type: ignore[override]
        """Return the data keys of :meth:`read` (snapshot taken at connect)."""
        return self._snapshot(self._described)

    def describe_configuration(self) -> dict[str, DataKey]:  # type: ignore[override]
        """Return the data keys of the configuration (snapshot taken at connect)."""
        return self._snapshot(self._config_described)

    def read_configuration(self) -> dict[str, Reading]:  # type: ignore[override]
        """Return the configuration readings (snapshot of connect or the last stage)."""
        return self._snapshot(self._config)


class AsyncInstrument(Device):
    """An ophyd-async instrument: ``probe``, ``structure``, ``spectrometer`` on a :class:`ScanGrid`.

    Subclasses set ``self.probe``, ``self.structure`` and ``self.spectrometer``
    before calling ``super().__init__(name)`` and keep ``self._grid`` current
    (a :class:`ScanGrid`; for remote instruments it is read at connect).
    """

    _grid: ScanGrid | None = None

    def __init__(self, name: str = "microscope") -> None:
        super().__init__(name=name)
        self.set_name(name, child_name_separator="_")

    @property
    def grid(self) -> ScanGrid:
        """The scan grid (``NotConnectedYet`` before a remote instrument is connected)."""
        if self._grid is None:
            raise NotConnectedYet(
                f"{self.name}: the scan grid is read at connect; run "
                "RE(ophyd_async.plan_stubs.ensure_connected(instrument)) first"
            )
        return self._grid

    def _current_grid(self) -> ScanGrid:
        return self.grid

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(H, W)`` in pixels."""
        return self.grid.shape

    def pixel_to_position(self, row: int, col: int) -> tuple[float, float]:
        """Physical probe position ``(x, y)`` of pixel ``(row, col)`` (see :class:`ScanGrid`)."""
        return self.grid.pixel_to_position(row, col)

    def position_to_pixel(self, x: float, y: float) -> tuple[int, int]:
        """Nearest pixel ``(row, col)`` to the physical position ``(x, y)``."""
        return self.grid.position_to_pixel(x, y)

    @AsyncStatus.wrap
    async def stage(self) -> None:
        """Refresh the detectors' description snapshots before a run."""
        await asyncio.gather(
            *(
                d.refresh_description()
                for d in (self.structure, self.spectrometer)  # type: ignore[attr-defined]
                if isinstance(d, IntrospectedDetector)
            )
        )

    @AsyncStatus.wrap
    async def unstage(self) -> None:
        """Nothing to undo."""

    def describe_instrument(self) -> dict[str, Any]:  # pragma: no cover - overridden
        """Describe the instrument as JSON for the run record."""
        return {"class": type(self).__name__, "name": self.name, "grid": self.grid.describe()}
