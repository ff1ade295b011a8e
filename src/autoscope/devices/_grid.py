"""The scan grid: how an instrument maps pixels ``(row, col)`` to probe positions ``(x, y)``.

Every instrument in :mod:`autoscope.devices` scans a regular ``H x W`` grid with
square pixels of side ``pixel_size`` (physical units, e.g. nm): pixel ``(row,
col)`` sits at ``x = x0 + col * pixel_size``, ``y = y0 + row * pixel_size``.
:class:`ScanGrid` holds that mapping and checks both directions, so a bad pixel
or position fails with a clear message before any hardware moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["ScanGrid"]


def _finite(label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InputDataError(f"{label} must be a finite number, got {value!r}")
    if not np.isfinite(value):
        raise InputDataError(f"{label} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ScanGrid:
    """A regular scan grid of ``H x W`` square pixels.

    Parameters
    ----------
    shape : (int, int)
        Grid shape ``(H, W)`` in pixels.
    pixel_size : float
        Side of one pixel, ``units`` per pixel (> 0).
    units : str
        Units of probe positions (``"nm"``, ``"px"``, ...).
    origin : (float, float)
        Position ``(x0, y0)`` of pixel ``(0, 0)``, ``units``.

    Raises
    ------
    ValueError
        If the shape is not two positive integers or the pixel size not a
        positive finite number.

    Examples
    --------
    >>> g = ScanGrid((4, 5), 0.5, "nm")
    >>> g.pixel_to_position(2, 3)
    (1.5, 1.0)
    >>> g.position_to_pixel(1.4, 1.1)
    (2, 3)
    >>> g.limits
    {'x': (0.0, 2.0), 'y': (0.0, 1.5)}
    """

    shape: tuple[int, int]
    pixel_size: float
    units: str = "px"
    origin: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if len(shape) != 2 or not all(
            isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 1 for n in shape
        ):
            raise InputDataError(f"grid shape must be two positive integers (H, W), got {shape!r}")
        ps = _finite("pixel_size", self.pixel_size)
        if ps <= 0:
            raise InputDataError(f"pixel_size must be > 0, got {self.pixel_size!r}")
        origin = tuple(_finite("origin", v) for v in self.origin)
        if len(origin) != 2:
            raise InputDataError(f"origin must be (x0, y0), got {self.origin!r}")
        object.__setattr__(self, "shape", (int(shape[0]), int(shape[1])))
        object.__setattr__(self, "pixel_size", ps)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "units", str(self.units))

    @property
    def limits(self) -> dict[str, tuple[float, float]]:
        """Inclusive probe limits ``{"x": (lo, hi), "y": (lo, hi)}`` in ``units``."""
        (h, w), ps, (x0, y0) = self.shape, self.pixel_size, self.origin
        return {"x": (x0, x0 + (w - 1) * ps), "y": (y0, y0 + (h - 1) * ps)}

    def pixel_to_position(self, row: Any, col: Any) -> tuple[float, float]:
        """Physical probe position ``(x, y)`` of pixel ``(row, col)``.

        Raises
        ------
        ValueError
            If the pixel is not a pair of integers inside the grid.
        """
        h, w = self.shape
        try:
            r, c = int(row), int(col)
        except (TypeError, ValueError):
            raise InputDataError(
                f"pixel must be integers (row, col), got ({row!r}, {col!r})"
            ) from None
        if r != row or c != col or not (0 <= r < h and 0 <= c < w):
            raise InputDataError(f"pixel ({row!r}, {col!r}) is not inside the {h}x{w} grid")
        return self.origin[0] + c * self.pixel_size, self.origin[1] + r * self.pixel_size

    def position_to_pixel(self, x: Any, y: Any) -> tuple[int, int]:
        """Nearest pixel ``(row, col)`` to the physical position ``(x, y)``.

        Raises
        ------
        ValueError
            If a coordinate is not finite or lies more than half a pixel outside the grid.
        """
        fx, fy = _finite("position x", x), _finite("position y", y)
        h, w = self.shape
        col = int(np.rint((fx - self.origin[0]) / self.pixel_size))
        row = int(np.rint((fy - self.origin[1]) / self.pixel_size))
        if not (0 <= row < h and 0 <= col < w):
            lim = self.limits
            raise InputDataError(
                f"position (x={x}, y={y}) {self.units} is outside the scan area "
                f"x in {lim['x']}, y in {lim['y']}"
            )
        return row, col

    def check_position(self, axis: str, value: Any) -> float:
        """Return ``value`` as a float if it lies within the ``axis`` limits, else raise.

        Raises
        ------
        ValueError
            If ``value`` is not finite or outside ``limits[axis]``.
        """
        v = _finite(f"probe {axis}", value)
        lo, hi = self.limits[axis]
        tol = 1e-9 * max(1.0, abs(lo), abs(hi))
        if not (lo - tol <= v <= hi + tol):
            raise InputDataError(
                f"probe {axis}={v} {self.units} is outside its limits [{lo}, {hi}] {self.units}"
            )
        return v

    def describe(self) -> dict[str, Any]:
        """JSON description: shape, pixel size, units, origin, limits."""
        return {
            "shape": list(self.shape),
            "pixel_size": self.pixel_size,
            "units": self.units,
            "origin": list(self.origin),
            "limits": {k: list(v) for k, v in self.limits.items()},
        }
