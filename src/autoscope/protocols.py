"""Small runtime-checkable protocols at the seams between autoscope's parts.

Plans type their devices against :mod:`bluesky.protocols`; the pieces autoscope
itself defines meet here: a *sample* (the physics behind a simulated instrument),
a *recommender* (the thing that suggests where to measure next) and a *trace*
(a stored run, as :func:`autoscope.trace.load` returns it). The recommender shape
is that of ``bluesky_adaptive.protocols.Optimizer`` (bluesky-adaptive 1.0)
without depending on it; :class:`CandidateRecommender` adds what the exploration
loop, the plans and steering read of any recommender (its candidate set, what it
has ingested, and replacing values when the scalarizer changes).

These are the types used in signatures instead of ``Any``; this module imports
nothing of autoscope, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["CandidateRecommender", "Instrument", "Recommender", "Sample", "Trace"]


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
class CandidateRecommender(Recommender, Protocol):
    """A recommender over a fixed candidate set that says what it has ingested.

    :class:`autoscope.recommender.DKLRecommender` and
    :class:`autoscope.testing.FakeRecommender` are ones. Optional abilities (a
    settable ``policy``, ``exclude``/``include``, ``set_dwell``, ``predict``,
    ``should_stop``, ``last_decision``) are looked up where an intervention or a
    record needs them, and their absence is reported as an error naming the
    missing method.

    Attributes
    ----------
    candidates : ndarray, shape (N, 2), int
        ``(row, col)`` of every candidate; ``"_id"`` indexes it.
    measured_ids : list of int
        Every ingested candidate id, in ingestion order.
    """

    @property
    def candidates(self) -> np.ndarray:
        """``(row, col)`` of every candidate, shape (N, 2)."""
        ...

    @property
    def measured_ids(self) -> list[int]:
        """Ingested candidate ids, in order."""
        ...

    def replace_values(self, values: Any) -> None:
        """Replace the value of every ingested point, in :attr:`measured_ids` order."""
        ...


@runtime_checkable
class Trace(Protocol):
    """A stored run (complete or not), as :func:`autoscope.trace.load` returns it.

    The attributes are the stored-run contract; :class:`autoscope.trace.ExperimentTrace`
    documents each with its shape and adds the rest of what a run recorded.

    Attributes
    ----------
    uid : str
        The run's uid.
    image : ndarray, shape (H, W) or (H, W, C)
        The structural image.
    candidates : ndarray, shape (N, 2), int
        ``(row, col)`` of every candidate.
    measured_ids : list of int
        The candidate id of each measurement, in order (``n`` of them).
    spectra : ndarray, shape (n, L) or (n, K, K)
        One spectrum per measurement.
    axis : ndarray, shape (L,)
        The spectral axis.
    values : ndarray, shape (n,)
        The scalarized value of each measurement (NaN where undefined).
    decisions : list of dict
        One record per model decision.
    specs : dict
        The run's ``autoscope`` metadata (scalarizer, policy, model, budget, ...).
    interventions : list of dict
        Applied steering interventions, in order (empty for an unsteered run).
    """

    @property
    def uid(self) -> str: ...  # noqa: D102

    @property
    def image(self) -> np.ndarray: ...  # noqa: D102

    @property
    def candidates(self) -> np.ndarray: ...  # noqa: D102

    @property
    def measured_ids(self) -> list[int]: ...  # noqa: D102

    @property
    def spectra(self) -> np.ndarray: ...  # noqa: D102

    @property
    def axis(self) -> np.ndarray: ...  # noqa: D102

    @property
    def values(self) -> np.ndarray: ...  # noqa: D102

    @property
    def decisions(self) -> list[dict[str, Any]]: ...  # noqa: D102

    @property
    def specs(self) -> dict[str, Any]: ...  # noqa: D102

    @property
    def interventions(self) -> list[dict[str, Any]]: ...  # noqa: D102


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
