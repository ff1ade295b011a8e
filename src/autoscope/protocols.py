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

__all__ = ["Recommender", "Sample"]


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
