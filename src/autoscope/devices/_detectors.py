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
    """Trigger → measure during ``_exposure()`` s on an acquisition thread → put the value → finish.

    Like a real detector, the value is measured while the acquisition runs: the
    acquisition thread computes it (noise and fault draws included) as soon as the
    acquisition starts, then waits out the rest of the exposure and puts it, so its
    compute time is hidden in the exposure instead of added to it. The status finishes
    no earlier than ``_exposure()`` s after ``trigger()``. A stopped acquisition puts
    nothing and leaves the detector's random generators as they were before it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cancel: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._status: DeviceStatus | None = None
        self._lock = threading.Lock()

    def _exposure(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def _prepare(self) -> Callable[[], Callable[[], None]]:  # pragma: no cover - overridden
        """Validate and fix what to measure now; return ``measure``.

        ``measure()`` computes the value (on the acquisition thread) and returns the
        function that makes it readable.
        """
        raise NotImplementedError

    def _rng_state(self) -> Any:
        """Return what :meth:`_rng_restore` needs to undo a stopped acquisition's draws."""
        return None

    def _rng_restore(self, state: Any) -> None:
        """Put the random generators back to ``state`` (see :meth:`_rng_state`)."""

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
            previous = self._thread
        if previous is not None and previous.is_alive():  # a stopped one undoing its draws
            previous.join()
        with self._lock:
            delay = self._exposure()
            measure = self._prepare()
            status = DeviceStatus(self)
            self._status = status
            if delay <= 0:
                self._thread = self._cancel = None
        start = time.monotonic()
        if delay <= 0:
            self._acquire(status, measure, None, 0.0)
            return status
        cancel = threading.Event()
        thread = threading.Thread(
            target=self._acquire,
            args=(status, measure, cancel, start + delay),
            name=f"{self.name}-acquire",
            daemon=True,
        )
        with self._lock:
            self._cancel, self._thread = cancel, thread
        thread.start()
        return status

    def _acquire(
        self,
        status: DeviceStatus,
        measure: Callable[[], Callable[[], None]],
        cancel: threading.Event | None,
        deadline: float,
    ) -> None:
        """Measure now, wait until ``deadline`` (monotonic s), then publish and finish."""
        state = self._rng_state()
        publish: Callable[[], None] | None = None
        error: Exception | None = None
        try:
            publish = measure()
        except Exception as exc:  # noqa: BLE001 - reported through the status
            error = exc
        remaining = deadline - time.monotonic()
        stopped = cancel is not None and remaining > 0 and cancel.wait(remaining)
        with self._lock:
            if stopped or status.done:  # stopped meanwhile: as if nothing was measured
                self._rng_restore(state)
                return
        if error is not None:
            status.set_exception(error)
            return
        try:
            if publish is not None:
                publish()
        except Exception as exc:  # noqa: BLE001 - reported through the status
            status.set_exception(exc)
        else:
            status.set_finished()

    def stop(self, *, success: bool = False) -> None:
        """Abort an acquisition in progress (its status fails)."""
        with self._lock:
            cancel, status = self._cancel, self._status
            self._cancel = None
        if status is not None and not status.done:
            status.set_exception(RuntimeError(f"{self.name}: acquisition stopped"))
        if cancel is not None:
            cancel.set()
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

    def _prepare(self) -> Callable[[], Callable[[], None]]:
        sample = getattr(self, "_sample", None)
        if sample is None:
            raise InputDataError(f"{self.name}: no sample bound to this detector")

        def measure() -> Callable[[], None]:
            image = np.array(sample.image, dtype=float)
            return lambda: self.image.put(image, timestamp=time.time())

        return measure


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

    def _prepare(self) -> Callable[[], Callable[[], None]]:
        sample = getattr(self, "_sample", None)
        if sample is None:
            raise InputDataError(f"{self.name}: no sample bound to this detector")
        row, col = self._locate()
        data: DataSignal = getattr(self, self._data_attr)

        def measure() -> Callable[[], None]:  # during the dwell, on the acquisition thread
            value = np.asarray(sample.measure(row, col, rng=self._rng), dtype=float)
            fault = ""
            if self._faults is not None:
                fault = self._faults.draw_spectrum_fault(self._fault_rng)
                value = self._faults.corrupt(value, fault, self._fault_rng)

            def publish() -> None:  # at the end of the dwell
                now = time.time()
                self.last_fault = fault
                self.row.put(int(row), timestamp=now)
                self.col.put(int(col), timestamp=now)
                data.put(value, timestamp=now)

            return publish

        return measure

    def _rng_state(self) -> Any:
        rngs = (getattr(self, "_rng", None), getattr(self, "_fault_rng", None))
        return [(g, g.bit_generator.state) for g in rngs if g is not None]

    def _rng_restore(self, state: Any) -> None:
        for generator, saved in state:
            generator.bit_generator.state = saved


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
