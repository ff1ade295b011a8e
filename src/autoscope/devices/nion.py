"""The instrument over Nion Swift's instrumentation kit: ``stem_controller``, scan, EELS camera.

:class:`NionMicroscope` wraps the three objects a Nion STEM exposes to Python
(``nion.instrumentation``) as ophyd-async devices whose soft signals take
getter/setter callables into the vendor API:

- ``structure``: one HAADF frame from the scan hardware source on the scan's
  ``H x W`` pixel grid, pixel size from its calibration (nm);
- ``probe.x`` / ``probe.y``: positions in nm from the centre of pixel (0, 0),
  mapped to the normalised ``stem_controller.probe_position`` (0-1 of the scan)
  through the scan's field of view; the probe is parked there between frames;
- ``spectrometer``: one EELS camera frame, summed over its non-energy axis to a
  spectrum (L,), its axis from the frame's energy calibration (eV).

Every vendor call blocks, so each runs in a worker thread (``asyncio.to_thread``)
and the RunEngine's loop stays free. The same class drives a real Nion
microscope: pass Nion Swift's own ``stem_controller`` and hardware sources
(e.g. from ``HardwareSource.HardwareSourceManager()`` in a Swift console).
:func:`usim_instrument` starts Nion's STEM simulator (``nionswift-usim``) headless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from ophyd_async.core import Array1D, AsyncStatus, soft_signal_r_and_setter, soft_signal_rw
from ophyd_async.core import StandardReadableFormat as Format

from autoscope.devices._detectors import check_time
from autoscope.devices._grid import ScanGrid
from autoscope.devices.async_base import (
    AsyncInstrument,
    AsyncProbe,
    IntrospectedDetector,
    ProbeAxis,
)
from autoscope.errors import AutoscopeError, InputDataError

__all__ = ["NionError", "NionMicroscope", "usim_instrument"]

_TIMEOUT = 10.0  # s, for one frame


class NionError(AutoscopeError, RuntimeError):
    """Nion Swift's instrumentation did not deliver a frame or refused a setting."""


def _frames(source: Any, timeout: float = _TIMEOUT) -> list[Any]:
    """Acquire one frame per channel: start playing, next frames to finish, stop playing."""
    source.start_playing(sync_timeout=3.0)
    try:
        xdatas = source.get_next_xdatas_to_finish(timeout=timeout)
    finally:
        source.stop_playing(sync_timeout=3.0)
    if not xdatas or xdatas[0] is None:
        raise NionError(f"{source.hardware_source_id}: no frame within {timeout} s")
    return list(xdatas)


def _one_frame(source: Any, timeout: float = _TIMEOUT) -> Any:
    """Acquire one frame of the first channel."""
    return _frames(source, timeout)[0]


def _spectrum(xdata: Any) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Sum an EELS frame (…, L) to a spectrum (L,); return it with its axis, axis units, units."""
    data = np.asarray(xdata.data, dtype=float)
    if data.ndim == 0:
        raise NionError(f"EELS frame has no energy axis (shape {data.shape})")
    spectrum = data.reshape(-1, data.shape[-1]).sum(axis=0)
    cal = xdata.dimensional_calibrations[-1]
    offset = float(cal.offset or 0.0)
    scale = float(cal.scale or 1.0)
    axis = offset + scale * np.arange(data.shape[-1])
    return spectrum, axis, str(cal.units or ""), str(xdata.intensity_calibration.units or "")


class _NionStructure(IntrospectedDetector):
    """HAADF (or another scan channel) frame on the scan grid; configuration in nm."""

    def __init__(self, scan: Any, grid: ScanGrid, channel: int, name: str = "") -> None:
        self._scan, self._channel = scan, channel
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.image, self._set_image = soft_signal_r_and_setter(
                np.ndarray, np.zeros(grid.shape), units="counts"
            )
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.pixel_size = soft_signal_rw(float, grid.pixel_size, units=grid.units)
            self.pixel_units = soft_signal_rw(str, grid.units)
            self.fov = soft_signal_rw(float, grid.pixel_size * max(grid.shape), units="nm")
        super().__init__(name=name)

    def _acquire(self) -> np.ndarray:
        xdatas = _frames(self._scan)
        if len(xdatas) <= self._channel:
            raise NionError(f"scan delivered {len(xdatas)} channel(s), wanted #{self._channel}")
        return np.asarray(xdatas[self._channel].data, dtype=float)

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Acquire one scan frame (blocking vendor calls in a worker thread)."""
        self._set_image(await asyncio.to_thread(self._acquire))


class _NionSpectrometer(IntrospectedDetector):
    """EELS frame at the parked probe, summed to a spectrum (L,) with its energy axis."""

    def __init__(self, camera: Any, locate: Any, name: str = "") -> None:
        self._camera, self._locate = camera, locate
        with self.add_children_as_readables(Format.HINTED_SIGNAL):
            self.spectrum, self._set_spectrum = soft_signal_r_and_setter(
                np.ndarray, np.zeros(1), units="counts"
            )
        with self.add_children_as_readables(Format.UNCACHED_SIGNAL):
            self.row, self._set_row = soft_signal_r_and_setter(int, 0)
            self.col, self._set_col = soft_signal_r_and_setter(int, 0)
        with self.add_children_as_readables(Format.CONFIG_SIGNAL):
            self.axis, self._set_axis = soft_signal_r_and_setter(
                Array1D[np.float64], np.zeros(1), units="eV"
            )
            self.axis_name = soft_signal_rw(str, "energy loss")
            self.axis_units, self._set_axis_units = soft_signal_r_and_setter(str, "eV")
            self.units, self._set_units = soft_signal_r_and_setter(str, "counts")
            self.dwell = soft_signal_rw(
                float, getter=self._get_dwell, setter=self._put_dwell, units="s"
            )
        super().__init__(name=name)

    def _get_dwell(self) -> float:
        return float(self._camera.get_current_frame_parameters().exposure_ms) / 1000.0

    def _put_dwell(self, value: Any) -> None:
        fp = self._camera.get_current_frame_parameters()
        fp.exposure_ms = 1000.0 * check_time("dwell", value)
        self._camera.set_current_frame_parameters(fp)

    async def calibrate(self) -> None:
        """Take one frame to learn the spectrum length, energy axis and units."""
        spectrum, axis, axis_units, units = _spectrum(
            await asyncio.to_thread(_one_frame, self._camera)
        )
        self._set_spectrum(np.zeros_like(spectrum))
        self._set_axis(axis)
        self._set_axis_units(axis_units)
        self._set_units(units)

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        """Connect, learn the energy axis from one frame, then take the description snapshot."""
        await super().connect(*args, **kwargs)
        await self.calibrate()
        await self.refresh_description()

    @AsyncStatus.wrap
    async def trigger(self) -> None:
        """Acquire one EELS frame at the probe and sum it to a spectrum."""
        row, col = await self._locate()
        xdata = await asyncio.to_thread(_one_frame, self._camera)
        spectrum, _, _, _ = _spectrum(xdata)
        self._set_row(int(row))
        self._set_col(int(col))
        self._set_spectrum(spectrum)


class NionMicroscope(AsyncInstrument):
    """A Nion STEM (or nionswift-usim) as an autoscope instrument.

    Parameters
    ----------
    stem_controller : nion.instrumentation.stem_controller.STEMController
        The instrument; its ``probe_position`` parks the probe.
    scan : nion.instrumentation.scan_base.ScanHardwareSource
        The scan; its frame size is set to ``shape`` and its ``fov_nm`` read.
    eels : nion.instrumentation.camera_base.CameraHardwareSource
        The EELS camera.
    shape : (int, int)
        Scan grid ``(H, W)`` in pixels (the HAADF frame size).
    name : str
        Device name, the prefix of every reading key.
    dwell : float, optional
        EELS exposure per point, s (unchanged when omitted).
    channel : int
        Index of the structural channel among the scan's channels (0: HAADF).

    Raises
    ------
    ValueError
        A bad shape or dwell, or a rotated scan (rotation is not mapped).
    """

    def __init__(
        self,
        stem_controller: Any,
        scan: Any,
        eels: Any,
        *,
        shape: tuple[int, int] = (32, 32),
        name: str = "microscope",
        dwell: float | None = None,
        channel: int = 0,
    ) -> None:
        from nion.utils import Geometry

        self._geometry = Geometry
        self.stem_controller, self.scan, self.eels = stem_controller, scan, eels
        fp = scan.get_current_frame_parameters()
        if abs(float(getattr(fp, "rotation_rad", 0.0) or 0.0)) > 1e-12:
            raise InputDataError(
                f"scan rotation {fp.rotation_rad} rad is not supported; set it to 0"
            )
        h, w = (int(n) for n in shape)
        if h < 1 or w < 1:
            raise InputDataError(f"shape must be two positive integers, got {shape!r}")
        fp.size = Geometry.IntSize(h, w)
        scan.set_current_frame_parameters(fp)
        self.fov_nm = float(fp.fov_nm)
        self._grid = ScanGrid((h, w), self.fov_nm / max(h, w), "nm")
        if dwell is not None:
            cfp = eels.get_current_frame_parameters()
            cfp.exposure_ms = 1000.0 * check_time("dwell", dwell)
            eels.set_current_frame_parameters(cfp)
        self._target = {"x": 0.0, "y": 0.0}
        self._lock = threading.Lock()  # x and y park together through one probe_position
        axes = {a: self._axis(a) for a in ("x", "y")}
        self.probe = AsyncProbe(axes["x"], axes["y"])
        self.structure = _NionStructure(scan, self._grid, channel)
        self.spectrometer = _NionSpectrometer(eels, self._current_pixel)
        super().__init__(name=name)

    # -- probe ----------------------------------------------------------------------------
    def _normalised(self) -> Any:
        (h, w), ps = self.grid.shape, self.grid.pixel_size
        ny = (self._target["y"] / ps + 0.5) / h
        nx = (self._target["x"] / ps + 0.5) / w
        return self._geometry.FloatPoint(y=ny, x=nx)

    def _park(self, axis: str, value: float) -> None:
        with self._lock:
            self._target[axis] = float(value)
            self.stem_controller.probe_position = self._normalised()

    def _where(self, axis: str) -> float:
        pos = self.stem_controller.probe_position
        if pos is None:  # not parked yet: report the last target
            return self._target[axis]
        (h, w), ps = self.grid.shape, self.grid.pixel_size
        n = float(pos.x if axis == "x" else pos.y)
        return (n * (w if axis == "x" else h) - 0.5) * ps

    def _axis(self, axis: str) -> ProbeAxis:
        async def park(value: Any) -> None:
            await asyncio.to_thread(self._park, axis, value)

        readback, _ = soft_signal_r_and_setter(
            float, getter=lambda: self._where(axis), units=self.grid.units
        )
        setpoint = soft_signal_rw(float, 0.0, units=self.grid.units, setter=park)
        return ProbeAxis(setpoint, readback, self._current_grid, axis)

    async def _current_pixel(self) -> tuple[int, int]:
        return self.grid.position_to_pixel(self._where("x"), self._where("y"))

    def describe_instrument(self) -> dict[str, Any]:
        """Describe the instrument as JSON: Nion ids, scan field of view, grid, EELS exposure."""
        return {
            "class": type(self).__name__,
            "backend": "Nion Swift instrumentation (ophyd-async soft signals)",
            "name": self.name,
            "instrument_id": str(getattr(self.stem_controller, "instrument_id", "")),
            "scan": str(getattr(self.scan, "hardware_source_id", "")),
            "eels": str(getattr(self.eels, "hardware_source_id", "")),
            "fov_nm": self.fov_nm,
            "grid": self.grid.describe(),
            "limits": {k: list(v) for k, v in self.grid.limits.items()},
            "position_units": self.grid.units,
            "detectors": {
                "spectrometer": {
                    "exposure_s": float(self.eels.get_current_frame_parameters().exposure_ms)
                    / 1000.0
                }
            },
        }


@contextlib.contextmanager
def usim_instrument(
    shape: tuple[int, int] = (32, 32), *, dwell: float = 0.01, name: str = "microscope"
) -> Iterator[NionMicroscope]:
    """Start Nion's STEM simulator headless and yield a :class:`NionMicroscope` on it.

    Uses Nion's own headless set-up (``nion.swift.test.TestContext.TestSetup``,
    ``AcquisitionTestContext`` with nionswift-usim's device configuration); on
    exit every hardware source is stopped and Nion checks nothing leaked.

    Parameters
    ----------
    shape : (int, int)
        Scan grid (H, W).
    dwell : float
        EELS exposure per point, s.
    name : str
        Device name.

    Raises
    ------
    ImportError
        Without the ``nion`` extra (nionswift, nionswift-instrumentation, nionswift-usim).
    """
    try:
        from nion.instrumentation.test import AcquisitionTestContext
        from nion.swift.test import TestContext
        from nion.usim_device import DeviceConfiguration
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"Nion's simulator needs the 'nion' extra: pip install 'autoscope[nion]' ({exc})"
        ) from exc
    # TestSetup makes the application and the thread's event loop that Nion's document
    # window runs on; both live as long as the object (its finalizer closes the loop)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    setup = TestContext.TestSetup()
    config_dir = tempfile.TemporaryDirectory(prefix="autoscope-usim-")
    try:
        # Nion's default configuration folder is ./test_data, which it deletes and re-creates:
        # keep the simulator's device configuration in a private temporary folder instead
        configuration = DeviceConfiguration.AcquisitionContextConfiguration(
            set_configuration_location=False
        )
        configuration.configuration_location = config_dir.name
        with AcquisitionTestContext.AcquisitionTestContext(configuration, is_eels=True) as ctx:
            # Nion's application sets up verbose root logging; keep the caller's
            root.setLevel(level)
            for handler in [h for h in root.handlers if h not in handlers]:
                root.removeHandler(handler)
            yield NionMicroscope(
                ctx.instrument,
                ctx.scan_hardware_source,
                ctx.camera_hardware_source,
                shape=shape,
                dwell=dwell,
                name=name,
            )
    finally:
        config_dir.cleanup()
        del setup
