"""Simulated instruments in ophyd-async: any sample as ``StandardReadable`` devices on soft signals.

:class:`SimAsyncMicroscope` is the ophyd-async twin of
:class:`autoscope.devices.sim.SimMicroscope`: the same sample, the same reading
keys (``microscope_probe_x``, ``microscope_structure_image``,
``microscope_spectrometer_spectrum``, ...), the same pixel ↔ position mapping,
but built from soft signals, ``AsyncStatus`` and ``StandardReadable`` as new
devices at Diamond, ISIS and NSLS-II are. Acquisition times are ``asyncio``
sleeps, so a long dwell never blocks the RunEngine.

Examples
--------
>>> from bluesky import RunEngine
>>> from ophyd_async.plan_stubs import ensure_connected
>>> from autoscope.testing import TinySample
>>> RE = RunEngine({})  # doctest: +SKIP
>>> mic = SimAsyncMicroscope(TinySample(seed=0), seed=1)
>>> RE(ensure_connected(mic))  # doctest: +SKIP
>>> mic.pixel_to_position(2, 3)
(1.5, 1.0)
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from ophyd_async.core import (
    Array1D,
    AsyncStatus,
    soft_signal_r_and_setter,
    soft_signal_rw,
)
from ophyd_async.core import StandardReadableFormat as Format

from autoscope.devices._detectors import check_time
from autoscope.devices._grid import ScanGrid
from autoscope.devices.async_base import (
    AsyncInstrument,
    AsyncProbe,
    IntrospectedDetector,
    ProbeAxis,
)
from autoscope.devices.sim import _check_sample, _rng

__all__ = ["SimAsyncMicroscope", "SimAsyncSpectrometer", "SimAsyncStructure"]


class SimAsyncStructure(IntrospectedDetector):
    """Structural-image detector: ``trigger()`` publishes the sample's image after ``acquire_time``.

    Reads ``image`` (H, W [, C]); configuration ``pixel_size``, ``pixel_units``,
    ``units`` (of image values) and ``acquire_time`` (s).
    """

    def __init__(self, sample: Any, acquire_time: float = 0.0, name: str = "") -> None:
        self._sample = sample
        image = np.asarray(sample.image, dtype=float)
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.image, self._set_image = soft_signal_r_and_setter(
                np.ndarray, np.zeros_like(image), units=str(getattr(sample, "image_units", ""))
            )
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.pixel_size = soft_signal_rw(
                float, float(sample.pixel_size), units=str(sample.pixel_units)
            )
            self.pixel_units = soft_signal_rw(str, str(sample.pixel_units))
            self.units = soft_signal_rw(str, str(getattr(sample, "image_units", "")))
            self.acquire_time = soft_signal_rw(
                float, check_time("acquire_time", acquire_time), units="s"
            )
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Acquire the structural image (``acquire_time`` s)."""
        delay = check_time(f"{self.name} acquire_time", await self.acquire_time.get_value())
        if delay:
            await asyncio.sleep(delay)
        self._set_image(np.array(self._sample.image, dtype=float))


class SimAsyncSpectrometer(IntrospectedDetector):
    """Spectral detector at the probe's nearest pixel: ``trigger()`` measures after ``dwell`` s.

    Reads ``spectrum`` (the sample's ``spectrum_shape``, e.g. (L,)), ``row``,
    ``col``; configuration ``axis`` (L,), ``axis_name``, ``axis_units``,
    ``units`` and ``dwell`` (s).
    """

    def __init__(
        self, sample: Any, locate: Any, rng: np.random.Generator, dwell: float = 0.0,
        name: str = "",
    ) -> None:  # fmt: skip
        self._sample, self._locate, self._rng = sample, locate, rng
        shape = tuple(int(n) for n in sample.spectrum_shape)
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.spectrum, self._set_spectrum = soft_signal_r_and_setter(
                np.ndarray, np.zeros(shape), units=str(getattr(sample, "spectrum_units", ""))
            )
        with self.add_children_as_readables(Format.UNCACHED_SIGNAL):
            self.row, self._set_row = soft_signal_r_and_setter(int, 0)
            self.col, self._set_col = soft_signal_r_and_setter(int, 0)
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.axis = soft_signal_rw(
                Array1D[np.float64],
                np.asarray(sample.axis, dtype=np.float64),
                units=str(getattr(sample, "axis_units", "")),
            )
            self.axis_name = soft_signal_rw(str, str(getattr(sample, "axis_name", "")))
            self.axis_units = soft_signal_rw(str, str(getattr(sample, "axis_units", "")))
            self.units = soft_signal_rw(str, str(getattr(sample, "spectrum_units", "")))
            self.dwell = soft_signal_rw(float, check_time("dwell", dwell), units="s")
        super().__init__(name=name)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Measure a noisy spectrum at the probe's pixel (``dwell`` s)."""
        row, col = await self._locate()
        delay = check_time(f"{self.name} dwell", await self.dwell.get_value())
        if delay:
            await asyncio.sleep(delay)
        value = np.asarray(self._sample.measure(row, col, rng=self._rng), dtype=float)
        self._set_row(int(row))
        self._set_col(int(col))
        self._set_spectrum(value)


class SimAsyncMicroscope(AsyncInstrument):
    """A sample as an ophyd-async instrument: ``probe``, ``structure``, ``spectrometer``.

    The probe sits at ``x = col * Δ``, ``y = row * Δ`` with ``Δ =
    sample.pixel_size`` (``sample.pixel_units``); the spectrometer measures at
    the nearest pixel. Connect it before building a plan:
    ``RE(ensure_connected(mic))``.

    Parameters
    ----------
    sample : BaseSample
        The specimen (``image`` H x W [x C], ``axis`` (L,), ``measure``,
        ``spectrum_shape``, ``pixel_size``, ``pixel_units``).
    name : str
        Device name, the prefix of every reading key.
    seed : int, optional
        Seed of the instrument's noise generator.
    move_time : float
        Probe travel time per pixel of distance, s/px (0: instant).
    dwell : float
        Spectral acquisition time per point, s.
    image_time : float
        Structural image acquisition time, s.

    Raises
    ------
    ValueError
        If ``sample`` is not a sample, a time is negative or not finite, or
        ``seed`` is not an int >= 0.
    """

    def __init__(
        self,
        sample: Any,
        name: str = "microscope",
        *,
        seed: int | None = None,
        move_time: float = 0.0,
        dwell: float = 0.0,
        image_time: float = 0.0,
    ) -> None:
        _check_sample(sample)
        self.sample = sample
        self.seed = seed
        self.move_time = check_time("move_time", move_time)
        self._rng = _rng(seed)
        h, w = (int(n) for n in np.shape(sample.image)[:2])
        self._grid = ScanGrid((h, w), float(sample.pixel_size), str(sample.pixel_units))
        axes = {a: self._sim_axis(a) for a in ("x", "y")}
        self.probe = AsyncProbe(axes["x"], axes["y"])
        self.structure = SimAsyncStructure(sample, acquire_time=image_time)
        self.spectrometer = SimAsyncSpectrometer(
            sample, self._current_pixel, self._rng, dwell=dwell
        )
        super().__init__(name=name)

    def _sim_axis(self, axis: str) -> ProbeAxis:
        grid = self._current_grid
        units = grid().units
        readback, set_readback = soft_signal_r_and_setter(float, 0.0, units=units)
        state = {"at": 0.0}

        async def move(target: Any) -> None:
            distance = abs(target - state["at"]) / grid().pixel_size
            if self.move_time and distance:
                await asyncio.sleep(self.move_time * distance)
            state["at"] = target
            set_readback(target)

        setpoint = soft_signal_rw(float, 0.0, units=units, setter=move)
        return ProbeAxis(setpoint, readback, grid, axis)

    async def _current_pixel(self) -> tuple[int, int]:
        x, y = await asyncio.gather(
            self.probe.x.readback.get_value(), self.probe.y.readback.get_value()
        )
        return self.grid.position_to_pixel(x, y)

    def describe_instrument(self) -> dict[str, Any]:
        """Describe the instrument as JSON: the sample's ``describe()`` plus device settings."""
        config: dict[str, Any] = {}
        for det in (self.structure, self.spectrometer):
            if det._config is not None:
                config.update(det.read_configuration())

        def value(signal: Any) -> Any:
            reading: Any = config.get(signal.name)
            return None if reading is None else reading["value"]

        return {
            "class": type(self).__name__,
            "backend": "ophyd-async (soft signals)",
            "name": self.name,
            "seed": self.seed,
            "move_time": self.move_time,
            "move_time_units": "s/px",
            "limits": {k: list(v) for k, v in self.grid.limits.items()},
            "position_units": self.grid.units,
            "detectors": {
                "structure": {"acquire_time": value(self.structure.acquire_time)},
                "spectrometer": {"dwell": value(self.spectrometer.dwell)},
            },
            "sample": self.sample.describe() if hasattr(self.sample, "describe") else {},
        }
