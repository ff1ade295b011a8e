"""Small runtime-checkable protocols at the seams between autoscope's parts.

Plans type their devices against :mod:`bluesky.protocols`; the pieces autoscope
itself defines meet here: a *sample* (the physics behind a simulated instrument)
and a *recommender* (the thing that suggests where to measure next). The
recommender shape is that of ``bluesky_adaptive.protocols.Optimizer``
(bluesky-adaptive 1.0) without depending on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Instrument", "Recommender", "Sample"]


@runtime_checkable
class Recommender(Protocol):
    """Suggest points to measure and ingest what was measured there.

    Points are dicts with an ``"_id"`` key (a candidate index); ingested
    points additionally carry ``"value"`` (the scalarized measurement).
    """

    def suggest(self, batch_size: int = 1) -> Sequence[dict[str, Any]]:
        """Return ``batch_size`` distinct points not measured yet."""
        ...

    def ingest(self, points: Sequence[dict[str, Any]]) -> None:
        """Add measured points (``{"_id": int, "value": float}``) to the model's data."""
        ...


@runtime_checkable
class Sample(Protocol):
    """A specimen with a structural image and a spectrum at every pixel.

    Attributes
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        The cheap structural image.
    axis : ndarray, shape (L,)
        The spectral axis (energy, bias, detector angle, ...).
    """

    image: np.ndarray
    axis: np.ndarray

    def measure(self, row: int, col: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return a noisy spectrum measured at pixel ``(row, col)``."""
        ...

    def spectrum(self, row: int, col: int) -> np.ndarray:
        """Return the noise-free spectrum at pixel ``(row, col)``."""
        ...

    def truth(self, scalarizer_spec: Any) -> np.ndarray:
        """Return the scalarizer applied to the noise-free spectrum at every pixel, (H, W)."""
        ...


@runtime_checkable
class Instrument(Protocol):
    """What every autoscope plan needs from an instrument, and nothing more.

    Any backend (in-process sim, ophyd-async sim, EPICS, a vendor API such as
    Nion Swift) that has these parts runs every plan unchanged; see
    ``docs/devices.md`` for the full contract (timing, units, reading keys).

    Attributes
    ----------
    name : str
        Device name, the prefix of its reading keys.
    probe
        Has ``x`` and ``y``: ``bluesky.protocols.Movable`` + ``Readable`` axes in
        physical units (``pixel_to_position``'s units) that refuse targets
        outside their limits before moving; ``set`` completes when the probe
        is there.
    structure
        ``Triggerable`` + ``Readable``: reads exactly one hinted array, the
        structural image (H, W) or (H, W, C); configuration holds a
        ``*_pixel_size`` field (position units per pixel). ``describe()`` and
        ``read_configuration()`` must answer synchronously (plans inspect them
        when built).
    spectrometer
        ``Triggerable`` + ``Readable``: reads one hinted array (the spectrum at
        the probe, (L,) or the sample's spectrum shape); configuration holds
        ``*_axis`` (L,) and ``*_axis_units``; synchronous ``describe()`` /
        ``read_configuration()`` as for ``structure``. Its trigger completes
        when the spectrum is readable.
    """

    name: str
    probe: Any
    structure: Any
    spectrometer: Any

    def pixel_to_position(self, row: int, col: int) -> tuple[float, float]:
        """Return the physical probe position ``(x, y)`` of pixel ``(row, col)``."""
        ...

    def position_to_pixel(self, x: float, y: float) -> tuple[int, int]:
        """Return the nearest pixel ``(row, col)`` to the physical position ``(x, y)``."""
        ...

    def describe_instrument(self) -> dict[str, Any]:
        """Return a JSON description of the instrument for the run record."""
        ...
