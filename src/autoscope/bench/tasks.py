"""Benchmark tasks: a sample, a scalarizer, a patch size, and the true value of every candidate.

A :class:`Task` is what every method is run on: the structural image it may look at,
the candidate pixels (patch centres, :func:`autoscope.features.candidate_grid`), a
noisy ``measure`` (the sample's noisy spectrum, scalarized) and the noise-free
``truth`` at every candidate that the metrics are computed against.

=============  ====================================================================  =======  =====
name           task                                                                  grid     patch
=============  ====================================================================  =======  =====
``stem``       STEM-EELS, edge/bulk plasmon peak ratio (``make_sample("stem")``)     64×64    16
``spm``        SPM hysteresis loops, loop area (``make_sample("spm")``)              64×64    16
``fourd``      4D-STEM, centre-of-mass magnitude (``make_sample("fourd")``)          64×64    16
``beps``       replay of the real PbTiO3 BEPS grid, loop area (despiked)             50×50    8
``unrelated``  STEM image, property a smooth random field independent of it          64×64    16
``stem128``    ``stem`` on 128×128 (decision-latency check)                          128×128  16
=============  ====================================================================  =======  =====

Seeds: for the simulated tasks, ``seed`` is also the sample's seed (each seed is a
new specimen); ``beps`` is one recorded film, so only the run's randomness changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope import scalarizers
from autoscope.errors import InputDataError
from autoscope.features import candidate_grid
from autoscope.sim import make_sample
from autoscope.sim.base import BaseSample

__all__ = ["TASKS", "Task", "build_task", "smooth_field", "task_titles"]


@dataclass
class Task:
    """One benchmark problem.

    Attributes
    ----------
    name : str
        Registry name.
    title : str
        Human-readable description for tables.
    sample : BaseSample
        The specimen (image, noisy ``measure``, noise-free spectra).
    scalarizer : dict
        JSON spec of the scalarizer turning a spectrum into the optimised value.
    patch_size, stride : int
        Patch side and candidate spacing in pixels (the recommender's settings).
    candidates : ndarray, shape (N, 2)
        Candidate ``(row, col)``.
    truth : ndarray, shape (N,)
        Noise-free scalarized value at every candidate (NaN where data are missing).
    info : dict
        JSON description (sample description, scalarizer, sizes).
    """

    name: str
    title: str
    sample: BaseSample
    scalarizer: dict[str, Any]
    patch_size: int
    stride: int
    candidates: np.ndarray
    truth: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._scalarize = scalarizers.from_spec(self.scalarizer)

    @property
    def image(self) -> np.ndarray:
        """The structural image, ``(H, W)`` or ``(H, W, C)``."""
        return self.sample.image

    @property
    def n_candidates(self) -> int:
        """``N``, the number of candidates."""
        return int(self.candidates.shape[0])

    def measure(self, cid: int, rng: np.random.Generator) -> float:
        """Measure a noisy spectrum at candidate ``cid`` and scalarize it."""
        r, c = (int(v) for v in self.candidates[cid])
        return float(self._scalarize(self.sample.measure(r, c, rng), self.sample.axis))


def _sim(kind: str) -> Callable[[int, int], tuple[BaseSample, dict | None]]:
    def build(seed: int, shape: int) -> tuple[BaseSample, dict | None]:
        sample = make_sample(kind, shape=(shape, shape), seed=seed)
        return sample, sample.default_scalarizer

    return build


def _beps(seed: int, shape: int) -> tuple[BaseSample, dict | None]:
    from autoscope.sim.recorded import RecordedSample

    sample = RecordedSample.from_beps(despike_threshold=10.0)
    return sample, sample.default_scalarizer


def smooth_field(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Draw a smooth random field in [0, 1]: Gaussian-filtered white noise, min-max scaled.

    Parameters
    ----------
    shape : (int, int)
        ``(H, W)``.
    sigma : float
        Correlation length in pixels (Gaussian filter width).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (H, W)
    """
    from scipy.ndimage import gaussian_filter

    f = gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (f - f.min()) / (f.max() - f.min())


def _unrelated(seed: int, shape: int) -> tuple[BaseSample, dict | None]:
    """STEM image; the 'spectrum' is flat at a level from a field independent of the image."""
    from autoscope.sim.recorded import RecordedSample

    stem = make_sample("stem", shape=(shape, shape), seed=seed)
    sigma = shape / 12.0
    level = smooth_field((shape, shape), sigma, np.random.default_rng([seed, 77]))
    axis = np.linspace(0.0, 1.0, 8)
    sample = RecordedSample(
        stem.image,
        np.repeat(level[:, :, None], axis.size, axis=2),
        axis,
        "a.u.",
        noise=0.02,
        default_scalarizer={"name": "band_integral", "params": {"low": 0.0, "high": 1.0}},
        source={"loader": "autoscope.bench.unrelated", "stem_seed": seed, "sigma_px": sigma},
    )
    return sample, sample.default_scalarizer


#: name → (title, builder(seed, shape) -> (sample, scalarizer spec), fixed shape, fixed patch)
TASKS: dict[
    str, tuple[str, Callable[[int, int], tuple[BaseSample, dict | None]], int | None, int | None]
]
TASKS = {
    "stem": ("STEM-EELS, plasmon peak ratio", _sim("stem"), None, None),
    "spm": ("SPM hysteresis loops, loop area", _sim("spm"), None, None),
    "fourd": ("4D-STEM, CoM magnitude", _sim("fourd"), None, None),
    "beps": ("PbTiO3 BEPS replay (real data), loop area", _beps, 50, 8),
    "unrelated": ("STEM image, property independent of structure", _unrelated, None, None),
    "stem128": ("STEM-EELS 128x128 (latency check)", _sim("stem"), 128, None),
}


def task_titles() -> dict[str, str]:
    """Titles of the registered tasks, by name."""
    return {name: entry[0] for name, entry in TASKS.items()}


def build_task(name: str, seed: int = 0, *, shape: int = 64, patch_size: int = 16) -> Task:
    """Build a registered task.

    Parameters
    ----------
    name : str
        One of :data:`TASKS`.
    seed : int
        Sample seed (simulated tasks).
    shape : int
        Grid side for tasks without a fixed size (``beps`` is 50, ``stem128`` 128).
    patch_size : int
        Patch side, except for ``beps`` (8, the grid is only 50×50).

    Raises
    ------
    InputDataError
        Unknown name.
    """
    if name not in TASKS:
        raise InputDataError(f"unknown benchmark task {name!r}; available: {', '.join(TASKS)}")
    title, builder, fixed_shape, fixed_patch = TASKS[name]
    patch = fixed_patch if fixed_patch is not None else patch_size
    sample, spec = builder(seed, fixed_shape or shape)
    if spec is None:
        raise InputDataError(f"benchmark task {name!r}: its sample names no default scalarizer")
    cands = candidate_grid(sample.shape, patch, 1)
    truth = sample.truth(spec)[cands[:, 0], cands[:, 1]]
    info = {
        "title": title,
        "sample": sample.describe(),
        "scalarizer": spec,
        "shape": list(sample.shape),
        "patch_size": patch,
        "n_candidates": int(cands.shape[0]),
    }
    return Task(name, title, sample, spec, patch, 1, cands, truth, info)
