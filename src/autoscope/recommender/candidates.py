"""Book-keeping of a recommender's candidate set: ids, positions, masks, pending points.

A candidate is *available* for a suggestion when it was never measured, is not
excluded and is not pending (suggested, not yet ingested).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["CandidateSet", "check_int", "json_float"]


def check_int(name: str, value: Any, low: int) -> int:
    """Return ``value`` as an int ``>= low`` or raise :class:`InputDataError`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InputDataError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def json_float(value: Any) -> float | None:
    """Return a JSON-friendly float (``None`` for missing, NaN or inf)."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


class CandidateSet:
    """Ids ``0..N-1`` with optional ``(row, col)`` positions, masks and pending points.

    Parameters
    ----------
    n : int
        Number of candidates ``N``.
    coords : ndarray, shape (N, 2), optional
        Positions in pixels.
    image_shape : (int, int), optional
        ``(H, W)``, to accept (H, W) masks and dwell maps.
    """

    def __init__(self, n: int, coords: np.ndarray | None, image_shape: tuple[int, int] | None):
        self.n = n
        self.coords = None if coords is None else np.asarray(coords)
        self.image_shape = image_shape
        self.excluded = np.zeros(n, dtype=bool)
        self.measured = np.zeros(n, dtype=bool)
        self.pending: set[int] = set()
        self.dwell: np.ndarray | None = None

    @property
    def candidates(self) -> np.ndarray:
        """(N, 2) positions, or the ids as (N, 1) without positions."""
        if self.coords is None:
            return np.arange(self.n, dtype=np.int64)[:, None]
        return self.coords

    def check_id(self, value: Any) -> int:
        """Return a valid candidate id or raise :class:`InputDataError`."""
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InputDataError(f"'_id' must be an int candidate id, got {value!r}")
        if not 0 <= value < self.n:
            raise InputDataError(f"unknown candidate id {value}: ids run from 0 to {self.n - 1}")
        return int(value)

    def parse_points(
        self, points: Any, check_value: Callable[[Any], np.ndarray], nan_raises: bool
    ) -> list[tuple[int, np.ndarray]]:
        """Validate ingested points ``[{"_id", "value"}, ...]`` as (id, values) pairs.

        Raises
        ------
        InputDataError
            Not a list of dicts, a missing key, an unknown id, one id twice in the
            batch (replicates go in separate calls) or a bad value.
        """
        if isinstance(points, Mapping) or not isinstance(points, Sequence):
            raise InputDataError(f"ingest expects a list of dicts, got {type(points).__name__}")
        checked = []
        for p in points:
            if not isinstance(p, Mapping) or "_id" not in p or "value" not in p:
                raise InputDataError(f"each point needs '_id' and 'value', got {p!r}")
            i = self.check_id(p["_id"])
            v = check_value(p["value"])
            if nan_raises and np.isnan(v).any():
                raise InputDataError(f"NaN value for candidate {i} (nan_policy='raise')")
            checked.append((i, v))
        ids = [i for i, _ in checked]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise InputDataError(
                f"candidate ids {twice} appear more than once in one ingest; send a "
                "replicate measurement in a later call (each call adds one training row per id)"
            )
        return checked

    def to_bool(self, where: Any) -> np.ndarray:
        """Convert an (H, W) or (N,) bool mask, or a sequence of ids, to an (N,) bool array."""
        arr = np.asarray(where)
        if arr.dtype == bool:
            if arr.shape == (self.n,):
                return arr.copy()
            if self.image_shape is not None and arr.shape == self.image_shape:
                if self.coords is None:
                    raise InputDataError("an (H, W) mask needs candidate positions")
                return arr[self.coords[:, 0], self.coords[:, 1]]
            want = f"({self.n},)" + (f" or {self.image_shape}" if self.image_shape else "")
            raise InputDataError(f"a bool mask must have shape {want}, got {arr.shape}")
        ids = arr.reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise InputDataError(f"expected a bool mask or candidate ids, got dtype {ids.dtype}")
        out = np.zeros(self.n, dtype=bool)
        for i in ids:
            out[self.check_id(i)] = True
        return out

    def exclude(self, where: Any) -> None:
        """Add candidates to the excluded set."""
        self.excluded |= self.to_bool(where)

    def include(self, where: Any) -> None:
        """Remove candidates from the excluded set."""
        self.excluded &= ~self.to_bool(where)

    def restrict(self, mask: Any) -> None:
        """Exclude every candidate where ``mask`` is False."""
        arr = np.asarray(mask)
        if arr.dtype != bool:
            raise InputDataError(f"mask must be a bool array, got dtype {arr.dtype}")
        self.excluded |= ~self.to_bool(arr)

    def excluded_ids(self) -> list[int]:
        """Sorted excluded ids (JSON)."""
        return [int(i) for i in np.flatnonzero(self.excluded)]

    def mark_measured(self, i: int) -> None:
        """Record that candidate ``i`` was measured."""
        self.measured[i] = True
        self.pending.discard(i)

    def available(self, include_pending: bool = False) -> np.ndarray:
        """(N,) bool: not measured, not excluded (and not pending unless asked)."""
        ok = ~self.measured & ~self.excluded
        if not include_pending and self.pending:
            ok[list(self.pending)] = False
        return ok

    def point(self, i: int) -> dict[str, int]:
        """Return the suggestion dict for candidate ``i``."""
        if self.coords is None:
            return {"_id": int(i)}
        return {"_id": int(i), "row": int(self.coords[i, 0]), "col": int(self.coords[i, 1])}

    def last_position(self, ids: list[int]) -> np.ndarray | None:
        """Position of the most recently ingested point (the probe), or ``None``."""
        if not ids or self.coords is None:
            return None
        return np.asarray(self.coords[ids[-1]], dtype=float)

    def set_dwell(self, dwell: Any) -> None:
        """Dwell time (s) per candidate: scalar, (N,) or (H, W) map."""
        arr = np.asarray(dwell, dtype=float)
        if arr.ndim == 0:
            arr = np.full(self.n, float(arr))
        elif (
            self.image_shape is not None
            and self.coords is not None
            and arr.shape == self.image_shape
        ):
            arr = arr[self.coords[:, 0], self.coords[:, 1]]
        if arr.shape != (self.n,) or not np.isfinite(arr).all() or (arr < 0).any():
            raise InputDataError(
                f"dwell must be >= 0 and finite, a scalar, ({self.n},) or (H, W); got {arr.shape}"
            )
        self.dwell = arr
