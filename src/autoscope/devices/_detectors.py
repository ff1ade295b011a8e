"""Simulated detectors: a structural-image camera and point detectors (spectra, diffraction).

Each detector is an Ophyd v1 :class:`~ophyd.Device` whose ``trigger()`` returns a
:class:`~ophyd.status.DeviceStatus` that finishes after the configured acquisition
time (on a timer thread; immediately when the time is 0). Values come from a bound
sample object; the detectors only turn its outputs into signal values.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, Signal
from ophyd.status import DeviceStatus

from autoscope.errors import InputDataError

__all__ = [
    "DataSignal",
    "DiffractionDetector",
    "Spectrometer",
    "StructureDetector",
    "check_time",
]


def check_time(label: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite, non-negative time in s, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InputDataError(f"{label} must be a finite number of seconds >= 0, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise InputDataError(f"{label} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


class DataSignal(Signal):
    """A soft signal whose ``describe()`` states shape, dtype, numpy dtype, units and dims.

    The description is derived from the current value (arrays keep their shape
    from the first value on: detectors set a zero array of the right shape when
    bound), so descriptors are right before the first trigger.

    Parameters
    ----------
    units : str
        Engineering units of the value.
    dims : sequence of str, optional
        Names of the array dimensions.
    **kwargs
        Passed to :class:`ophyd.Signal`.
    """

    def __init__(self, *, units: str = "", dims: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.dims = tuple(dims)
        #: declared array shape; ``None``: the current value's (a faulty value never changes it)
        self.fixed_shape: tuple[int, ...] | None = None

    def describe(self) -> OrderedDict:
        """Return the data key: ``dtype`` (JSON type), ``shape`` (ints), ``dtype_numpy``, units."""
        value = self.get()
        desc: dict[str, Any] = {"source": f"SIM:{self.name}"}
        if isinstance(value, str):
            desc.update(dtype="string", shape=[])
        else:
            arr = np.asarray(value)
            shape = self.fixed_shape if self.fixed_shape is not None else arr.shape
            if arr.ndim or self.fixed_shape:
                desc.update(dtype="array", shape=[int(n) for n in shape])
                if self.dims:
                    desc["dims"] = list(self.dims)
            elif arr.dtype.kind == "b":
                desc.update(dtype="boolean", shape=[])
            elif arr.dtype.kind in "iu":
                desc.update(dtype="integer", shape=[])
            else:
                desc.update(dtype="number", shape=[])
            desc["dtype_numpy"] = arr.dtype.str
        if self.units:
            desc["units"] = self.units
        return OrderedDict({self.name: desc})


class _TimedDetector(Device):
    """Trigger → acquire for ``_exposure()`` s on a timer thread → put the value → finish."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: threading.Timer | None = None
        self._status: DeviceStatus | None = None
        self._lock = threading.Lock()

    def _exposure(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def _prepare(self) -> Callable[[], None]:  # pragma: no cover - overridden
        """Validate and fix what to measure now; return the function that publishes it."""
        raise NotImplementedError

    def trigger(self) -> DeviceStatus:
        """Start an acquisition; the returned status finishes when the value is readable.

        Raises
        ------
        RuntimeError
            If an acquisition is already in progress.
        ValueError
            If the acquisition time is invalid or the detector is not bound to a sample.
        """
        with self._lock:
            if self._status is not None and not self._status.done:
                raise RuntimeError(f"{self.name}: an acquisition is already in progress")
            delay = self._exposure()
            publish = self._prepare()
            status = DeviceStatus(self)
            self._status = status

        def finish() -> None:
            with self._lock:
                self._timer = None
                if status.done:  # stopped meanwhile
                    return
            try:
                publish()
            except Exception as exc:  # noqa: BLE001 - reported through the status
                status.set_exception(exc)
            else:
                status.set_finished()

        if delay > 0:
            self._timer = threading.Timer(delay, finish)
            self._timer.daemon = True
            self._timer.start()
        else:
            finish()
        return status

    def stop(self, *, success: bool = False) -> None:
        """Abort an acquisition in progress (its status fails)."""
        with self._lock:
            timer, status = self._timer, self._status
            self._timer = None
        if timer is not None:
            timer.cancel()
        if status is not None and not status.done:
            status.set_exception(RuntimeError(f"{self.name}: acquisition stopped"))
        super().stop(success=success)


class StructureDetector(_TimedDetector):
    """Structural-image detector (HAADF, PFM amplitude, topography, ...).

    ``trigger()`` publishes the sample's structural image, shape ``(H, W)`` or
    ``(H, W, C)``, after ``acquire_time`` seconds.
    """

    image = Cpt(DataSignal, value=np.zeros((1, 1)), kind="hinted", doc="structural image")
    channels = Cpt(DataSignal, value=[""], kind="config", doc="image channel names")
    units = Cpt(DataSignal, value="", kind="config", doc="units of image values")
    pixel_size = Cpt(DataSignal, value=1.0, kind="config", doc="scan step")
    pixel_units = Cpt(DataSignal, value="px", kind="config", doc="units of pixel_size")
    acquire_time = Cpt(DataSignal, value=0.0, units="s", kind="config", doc="frame time, s")

    def bind(self, sample: Any, acquire_time: float = 0.0) -> None:
        """Attach a sample; set the configuration signals from it."""
        self._sample = sample
        image = np.asarray(sample.image, dtype=float)
        self.image.units = str(getattr(sample, "image_units", ""))
        self.image.dims = ("row", "col", "channel")[: image.ndim]
        self.image.put(np.zeros_like(image))
        self.channels.put([str(c) for c in getattr(sample, "channels", ("image",))])
        self.units.put(str(getattr(sample, "image_units", "")))
        self.pixel_size.units = str(sample.pixel_units)
        self.pixel_size.put(float(sample.pixel_size))
        self.pixel_units.put(str(sample.pixel_units))
        self.acquire_time.put(check_time("acquire_time", acquire_time))

    def _exposure(self) -> float:
        return check_time(f"{self.name} acquire_time", self.acquire_time.get())

    def _prepare(self) -> Callable[[], None]:
        sample = getattr(self, "_sample", None)
        if sample is None:
            raise InputDataError(f"{self.name}: no sample bound to this detector")
        return lambda: self.image.put(np.array(sample.image, dtype=float), timestamp=time.time())


class _PointDetector(_TimedDetector):
    """Measures at the probe's current pixel: ``row``/``col`` plus the data signal."""

    _data_attr = "spectrum"
    row = Cpt(DataSignal, value=0, kind="normal", doc="pixel row measured")
    col = Cpt(DataSignal, value=0, kind="normal", doc="pixel column measured")
    axis = Cpt(DataSignal, value=np.zeros(1), kind="config", doc="spectral/detector axis")
    axis_name = Cpt(DataSignal, value="", kind="config", doc="what the axis is")
    axis_units = Cpt(DataSignal, value="", kind="config", doc="units of the axis")
    units = Cpt(DataSignal, value="", kind="config", doc="units of the measured values")
    dwell = Cpt(DataSignal, value=0.0, units="s", kind="config", doc="dwell per point, s")

    def bind(
        self,
        sample: Any,
        locate: Callable[[], tuple[int, int]],
        rng: np.random.Generator,
        dwell: float = 0.0,
        faults: Any = None,
    ) -> None:
        """Attach a sample, a function giving the current ``(row, col)`` and a noise generator.

        ``faults`` (a :class:`~autoscope.devices.faults.FaultModel`) corrupts
        acquisitions at its rates; ``last_fault`` says what the last one suffered.
        """
        self._sample, self._locate, self._rng = sample, locate, rng
        self._faults = faults
        self._fault_rng = faults.rng() if faults is not None else None
        self.last_fault = ""
        data: DataSignal = getattr(self, self._data_attr)
        spectrum_shape = tuple(int(n) for n in sample.spectrum_shape)
        data.fixed_shape = spectrum_shape
        axis = np.asarray(sample.axis, dtype=float)
        data.units = str(getattr(sample, "spectrum_units", ""))
        data.dims = self._dims(sample, len(spectrum_shape))
        data.put(np.zeros(spectrum_shape))
        self.axis.units = str(getattr(sample, "axis_units", ""))
        self.axis.dims = (str(getattr(sample, "axis_name", "axis")) or "axis",)
        self.axis.put(axis)
        self.axis_name.put(str(getattr(sample, "axis_name", "")))
        self.axis_units.put(str(getattr(sample, "axis_units", "")))
        self.units.put(str(getattr(sample, "spectrum_units", "")))
        self.dwell.put(check_time("dwell", dwell))

    @staticmethod
    def _dims(sample: Any, ndim: int) -> tuple[str, ...]:
        name = str(getattr(sample, "axis_name", "")) or "axis"
        return (name,) if ndim == 1 else tuple(f"{name}_{i}" for i in range(ndim))

    def _exposure(self) -> float:
        return check_time(f"{self.name} dwell", self.dwell.get())

    def _prepare(self) -> Callable[[], None]:
        sample = getattr(self, "_sample", None)
        if sample is None:
            raise InputDataError(f"{self.name}: no sample bound to this detector")
        row, col = self._locate()
        data: DataSignal = getattr(self, self._data_attr)

        def publish() -> None:
            value = np.asarray(sample.measure(row, col, rng=self._rng), dtype=float)
            if self._faults is not None:
                self.last_fault = self._faults.draw_spectrum_fault(self._fault_rng)
                value = self._faults.corrupt(value, self.last_fault, self._fault_rng)
            now = time.time()
            self.row.put(int(row), timestamp=now)
            self.col.put(int(col), timestamp=now)
            data.put(value, timestamp=now)

        return publish


class Spectrometer(_PointDetector):
    """Spectral detector (EELS, hysteresis loops, STS, ...) at the probe's nearest pixel.

    ``trigger()`` measures a noisy spectrum, shape ``(L,)`` (or the sample's
    ``spectrum_shape``), after ``dwell`` seconds; ``row``/``col`` give the pixel.
    """

    _data_attr = "spectrum"
    spectrum = Cpt(DataSignal, value=np.zeros(1), kind="hinted", doc="measured spectrum")


class DiffractionDetector(_PointDetector):
    """4D-STEM pixelated detector: a diffraction pattern ``(K, K)`` at the probe's nearest pixel."""

    _data_attr = "pattern"
    pattern = Cpt(DataSignal, value=np.zeros((1, 1)), kind="hinted", doc="diffraction pattern")

    @staticmethod
    def _dims(sample: Any, ndim: int) -> tuple[str, ...]:
        return ("ky", "kx")[:ndim] if ndim <= 2 else tuple(f"k{i}" for i in range(ndim))
