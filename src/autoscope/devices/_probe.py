"""The scanning probe of a simulated instrument: two soft positioners (x, y) with limits.

Positions are physical (``sample.pixel_units``): ``x = col * pixel_size``,
``y = row * pixel_size``. Motion is instant by default; with ``move_time > 0`` a
move of distance ``d`` takes ``move_time * d / pixel_size`` seconds and runs on a
timer thread, so the RunEngine's event loop is never blocked.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from numbers import Real
from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device
from ophyd.positioner import SoftPositioner
from ophyd.utils.errors import LimitError

__all__ = ["Probe", "ProbeAxis"]


class ProbeAxis(SoftPositioner):
    r"""One probe axis: a soft positioner with limits and optional, distance-proportional move time.

    .. math:: t_\mathrm{move} = \tau \, |p_\mathrm{target} - p_\mathrm{now}| / \Delta

    with :math:`\tau` = ``move_time`` (s per pixel of travel) and :math:`\Delta`
    = ``pixel_size`` (physical units per pixel).

    Parameters
    ----------
    egu : str
        Engineering units of positions (the sample's ``pixel_units``).
    limits : (float, float), optional
        Inclusive soft limits ``(low, high)`` in ``egu``.
    move_time : float
        Seconds per pixel of travel; 0 (default) moves instantly.
    pixel_size : float
        Physical size of one pixel, ``egu``.
    **kwargs
        Passed to :class:`ophyd.positioner.SoftPositioner`.

    Raises
    ------
    ophyd.utils.errors.LimitError
        From :meth:`set`/:meth:`move` (before any motion) for a target outside
        the limits or not a finite real number.
    """

    def __init__(
        self,
        *,
        egu: str = "",
        limits: tuple[float, float] | None = None,
        move_time: float = 0.0,
        pixel_size: float = 1.0,
        **kwargs: Any,
    ) -> None:
        self.move_time = float(move_time)
        self.pixel_size = float(pixel_size)
        self._timer: threading.Timer | None = None
        self._move: tuple[float, float, float, float] | None = None  # start, target, t0, duration
        self._lock = threading.Lock()
        self._faults: Any = None  # a FaultModel and its generator (inject_faults)
        self._fault_rng: np.random.Generator | None = None
        super().__init__(egu=egu, limits=limits, init_pos=0.0, **kwargs)

    def inject_faults(self, faults: Any, rng: np.random.Generator) -> None:
        """Let moves fail or time out at the rates of ``faults`` (a ``FaultModel``)."""
        self._faults, self._fault_rng = faults, rng

    def configure_axis(
        self, *, limits: tuple[float, float], egu: str, pixel_size: float, move_time: float
    ) -> None:
        """Set limits, units, pixel size and move time (used by the owning instrument)."""
        self._limits = (float(limits[0]), float(limits[1]))
        self._egu = str(egu)
        self.pixel_size = float(pixel_size)
        self.move_time = float(move_time)

    def check_value(self, pos: Any) -> None:
        """Raise ``LimitError`` unless ``pos`` is a finite number within the limits."""
        if isinstance(pos, bool) or not isinstance(pos, Real) or not np.isfinite(float(pos)):
            raise LimitError(f"{self.name}: position must be a finite number, got {pos!r}")
        low, high = self.limits
        if low < high and not (low <= pos <= high):
            raise LimitError(
                f"{self.name}: position {pos} {self.egu} is outside the limits "
                f"[{low}, {high}] {self.egu}"
            )

    def _setup_move(self, position: float, status: Any) -> None:
        if self._faults is not None and self._fault_move(status):
            return
        position = float(position)
        start = self.position if self.position is not None else position
        duration = self.move_time * abs(position - start) / self.pixel_size
        if duration <= 0.0:
            super()._setup_move(position, status)
            return
        self._run_subs(sub_type=self.SUB_START, timestamp=time.time())
        self._started_moving = True
        self._moving = True
        self._move = (start, position, time.monotonic(), duration)

        def arrive() -> None:
            with self._lock:
                if self._move is None:  # stopped meanwhile
                    return
                self._timer = self._move = None
                self._moving = False
            self._set_position(position)
            self._done_moving()

        self._timer = threading.Timer(duration, arrive)
        self._timer.daemon = True
        self._timer.start()

    def _fault_move(self, status: Any) -> bool:
        """Fail the move (at once, or after ``timeout_s``) if a fault is drawn; ``True`` if so."""
        fault = self._faults.draw_move_fault(self._fault_rng)
        if fault:  # this status is failed here, never again by the positioner's next move
            self._reset_sub(self._SUB_REQ_DONE)
        if fault == "fail":
            status.set_exception(RuntimeError(f"{self.name}: move failed (simulated fault)"))
        elif fault == "timeout":
            timeout = float(self._faults.timeout_s)
            exc = TimeoutError(f"{self.name}: move timed out after {timeout} s (simulated fault)")
            timer = threading.Timer(timeout, status.set_exception, args=(exc,))
            timer.daemon = True
            timer.start()
        return bool(fault)

    def stop(self, *, success: bool = False) -> None:
        """Stop a move in flight where the probe is now (linear interpolation)."""
        with self._lock:
            timer, move = self._timer, self._move
            self._timer = self._move = None
            self._moving = False
        if timer is not None and move is not None:
            timer.cancel()
            start, target, t0, duration = move
            frac = min(1.0, (time.monotonic() - t0) / duration)
            self._set_position(start + frac * (target - start))
            self._done_moving(success=success)

    def describe(self) -> OrderedDict:
        """Describe the position: units, numpy dtype and limits."""
        desc = super().describe()
        desc[self.name].update(dtype="number", shape=[], dtype_numpy=np.dtype(float).str)
        return desc

    def read_configuration(self) -> OrderedDict:
        """Read the move time (s per pixel of travel)."""
        return OrderedDict(
            {f"{self.name}_move_time": {"value": self.move_time, "timestamp": time.time()}}
        )

    def describe_configuration(self) -> OrderedDict:
        """Describe :meth:`read_configuration`."""
        return OrderedDict(
            {
                f"{self.name}_move_time": {
                    "source": "SIM:move_time",
                    "dtype": "number",
                    "shape": [],
                    "dtype_numpy": np.dtype(float).str,
                    "units": "s/px",
                }
            }
        )


class Probe(Device):
    """The scanning probe: ``x`` (fast, columns) and ``y`` (slow, rows) axes."""

    x = Cpt(ProbeAxis, kind="hinted", doc="probe x position (column direction)")
    y = Cpt(ProbeAxis, kind="hinted", doc="probe y position (row direction)")
