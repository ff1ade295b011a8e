"""Simulated samples with exactly known ground truth (numpy/scipy only, no Bluesky).

Each sample has a cheap structural ``image``, a spectral ``axis``, a noisy
``measure(row, col, rng)``, a noise-free ``spectrum(row, col)`` and
``truth(scalarizer_spec)``: the scalarizer applied to the noise-free spectrum at
every pixel. Same seed → same sample.

Examples
--------
>>> from autoscope.sim import make_sample
>>> s = make_sample("stem", shape=(32, 32), seed=0)
>>> s.image.shape
(32, 32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autoscope.errors import InputDataError
from autoscope.sim.base import BaseSample

__all__ = ["BaseSample", "KINDS", "make_sample"]

KINDS = ("stem", "spm", "fourd")


def make_sample(
    kind: str, shape: tuple[int, int] = (128, 128), seed: int = 0, **params: Any
) -> BaseSample:
    """Build a simulated sample of a given kind.

    Parameters
    ----------
    kind : {"stem", "spm", "fourd", "tiny"}
        STEM-EELS (HAADF + low-loss EELS), SPM ferroelectric (PFM + hysteresis
        loops), 4D-STEM (HAADF + diffraction patterns), or the tiny analytic
        sample of :mod:`autoscope.sim.tiny` (for tests and examples).
    shape : (int, int)
        Grid shape ``(H, W)`` in pixels.
    seed : int
        Seed of the latent structure and of the image noise.
    **params
        Physics parameters of the chosen kind (see its class).

    Raises
    ------
    ValueError
        Unknown kind, bad shape or bad parameters.
    """
    cls: Callable[..., BaseSample]
    if kind == "stem":
        from autoscope.sim.stem import STEMSample as cls
    elif kind == "spm":
        from autoscope.sim.spm import SPMSample as cls
    elif kind == "fourd":
        from autoscope.sim.fourd import FourDSample as cls
    elif kind == "tiny":
        from autoscope.sim.tiny import TinySample as cls
    else:
        raise InputDataError(f"unknown sample kind {kind!r}; expected one of {KINDS + ('tiny',)}")
    return cls(shape=shape, seed=seed, **params)
