"""A guarded read of a point detector: the stored array always has its declared shape.

:class:`GuardedReadable` stands in for a detector in ``bps.read``: same name,
same keys, same configuration, but its array field is checked against the
shape the detector declared (``describe()``) and, when it is wrong, stored
padded with NaN or cut to that shape, so one bad spectrum can never break the
event table, the TiledWriter or the stop document. :func:`classify_spectrum`
names what was wrong; the plan stub stores that name and the raw length beside
the spectrum (``point_fault``, ``point_raw_length``) and hands the loop NaN.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

__all__ = ["FAULTS", "GuardedReadable", "classify_spectrum", "conform"]

#: names of failed measurements, as stored in ``point_fault`` (``""``: a good one)
FAULTS = ("empty", "short", "long", "shape", "nonfinite", "zero", "move", "acquire")


def classify_spectrum(raw: np.ndarray, shape: tuple[int, ...]) -> str:
    """Return what is wrong with a measured array of declared ``shape`` (``""``: nothing).

    Examples
    --------
    >>> classify_spectrum(np.ones(4), (4,)), classify_spectrum(np.ones(2), (4,))
    ('', 'short')
    >>> classify_spectrum(np.array([1.0, np.nan]), (2,)), classify_spectrum(np.zeros(2), (2,))
    ('nonfinite', 'zero')
    """
    raw = np.asarray(raw)
    if raw.size == 0:
        return "empty"
    if raw.shape != tuple(shape):
        n = math.prod(shape)
        return "short" if raw.size < n else "long" if raw.size > n else "shape"
    if raw.dtype.kind in "fc" and not np.isfinite(raw).all():
        return "nonfinite"
    if not np.any(raw):
        return "zero"
    return ""


def conform(raw: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return ``raw`` as a float array of ``shape``: values in order, NaN-padded or cut."""
    out = np.full(tuple(shape), np.nan)
    flat = np.asarray(raw, dtype=float).reshape(-1)[: out.size]
    out.reshape(-1)[: flat.size] = flat
    return out


class GuardedReadable:
    """Read ``detector`` through this object; its ``key`` field keeps the declared shape.

    Parameters
    ----------
    detector : Readable
        The point detector (ophyd v1 or ophyd-async: ``read``/``describe`` may
        be coroutines).
    key : str
        Reading key of its array field.

    Attributes
    ----------
    fault : str
        What the last read found (:func:`classify_spectrum`), or the fault set
        by the caller through ``failed`` (the value is then all NaN).
    raw_length : int
        Number of values the detector returned at the last read.
    failed : str
        Set before a read when no acquisition happened (e.g. ``"move"``).
    """

    def __init__(self, detector: Any, key: str) -> None:
        self.detector, self.key = detector, key
        self.fault, self.failed, self.raw_length = "", "", 0
        self._describe: dict | None = None

    def __getattr__(self, name: str) -> Any:  # name, parent, hints, configuration, ...
        return getattr(self.detector, name)

    @property
    def shape(self) -> tuple[int, ...]:
        """Declared shape of the array field (from the first ``describe``)."""
        return tuple(int(n) for n in (self._describe or {})[self.key].get("shape") or ())

    def describe(self) -> Any:
        """Return the detector's description, taken once: it declares the shape kept."""
        if self._describe is not None:
            return self._describe
        desc = self.detector.describe()
        if inspect.isawaitable(desc):
            return self._adescribe(desc)
        self._describe = dict(desc)
        return self._describe

    async def _adescribe(self, desc: Any) -> dict:
        self._describe = dict(await desc)
        return self._describe

    def read(self) -> Any:
        """Read the detector; fix the array field (see the class docstring)."""
        if self._describe is None:
            desc = self.describe()
            if inspect.isawaitable(desc):
                return self._read_after(desc)
        reading = self.detector.read()
        if inspect.isawaitable(reading):
            return self._aread(reading)
        return self._fix(reading)

    async def _read_after(self, desc: Any) -> dict:
        await desc
        reading = self.detector.read()
        return self._fix(await reading if inspect.isawaitable(reading) else reading)

    async def _aread(self, reading: Any) -> dict:
        return self._fix(await reading)

    def _fix(self, reading: Any) -> dict:
        reading = dict(reading)
        entry = dict(reading[self.key])
        raw = np.asarray(entry["value"])
        self.raw_length = int(raw.size)
        shape = self.shape
        if self.failed:
            self.fault = self.failed
            entry["value"] = np.full(shape, np.nan)
        else:
            self.fault = classify_spectrum(raw, shape)
            if raw.shape != shape:
                entry["value"] = conform(raw, shape)
        reading[self.key] = entry
        self.failed = ""
        return reading
