"""A tiny analytic sample: exactly known, microseconds per spectrum, for tests and examples.

It lives with the other simulated samples so that runtime code (rebuilding a
stored run's sample with :func:`autoscope.sim.make_sample`) never needs the test
kit; :mod:`autoscope.testing` re-exports it for users' own tests.

Examples
--------
>>> from autoscope.sim.tiny import TinySample
>>> s = TinySample(seed=0)
>>> s.image.shape, s.axis.shape
((24, 24), (64,))
>>> float(abs(s.truth(s.default_scalarizer) - s.peak_position()).max()) < 1e-6
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.sim.base import BaseSample, check_finite_params, check_shape

__all__ = ["TinySample"]


class TinySample(BaseSample):
    r"""A tiny analytic sample: a Gaussian blob image and one Gaussian peak per spectrum.

    .. math::

        I(r, c) = \exp\!\left(-\frac{(r - r_0)^2 + (c - c_0)^2}{2 \sigma^2}\right), \qquad
        s_{r,c}(E) = \exp\!\left(-\frac{(E - E_0(r, c))^2}{2 w^2}\right), \qquad
        E_0(r, c) = E_b + \delta\, I(r, c)

    with the blob centre :math:`(r_0, c_0)` drawn from ``seed`` in the middle
    40 % of the grid, :math:`\sigma = H / 6` px, :math:`E_b` = 3 eV,
    :math:`\delta` = 4 eV, :math:`w` = 0.5 eV, on an energy axis 0–10 eV.
    Measurement noise is additive Gaussian with standard deviation ``noise``.
    The default scalarizer, the centroid over the whole axis, recovers
    :math:`E_0` to < 1e-6 eV (:meth:`peak_position` gives it exactly).

    Parameters
    ----------
    shape : (int, int)
        Grid ``(H, W)``, each ≥ 4 (default 24 x 24).
    seed : int
        Seed of the blob position.
    length : int
        Number of spectral channels ``L`` (≥ 8).
    noise : float
        Standard deviation of the additive measurement noise (spectrum units).
    channels : {1, 2}
        1: image ``(H, W)``; 2: ``(H, W, 2)`` with channels ``("blob", "inverse")``
        where ``inverse = 1 - blob``.
    """

    kind = "tiny"
    axis_name = "energy"
    axis_units = "eV"
    spectrum_units = "a.u."
    image_units = "a.u."
    pixel_size = 0.5
    pixel_units = "nm"
    E_BASE, E_SHIFT, WIDTH = 3.0, 4.0, 0.5

    def __init__(
        self,
        shape: tuple[int, int] = (24, 24),
        seed: int = 0,
        *,
        length: int = 64,
        noise: float = 0.01,
        channels: int = 1,
    ) -> None:
        h, w = check_shape(shape, minimum=4)
        check_finite_params(noise=noise)
        if noise < 0:
            raise InputDataError(f"noise must be >= 0, got {noise!r}")
        if isinstance(length, bool) or not isinstance(length, int) or length < 8:
            raise InputDataError(f"length must be an int >= 8, got {length!r}")
        if channels not in (1, 2) or isinstance(channels, bool):
            raise InputDataError(f"channels must be 1 or 2, got {channels!r}")
        self.seed, self.length, self.noise, self.n_channels = seed, length, float(noise), channels
        rng = np.random.default_rng(seed)
        self.center = (
            float(rng.uniform(0.3, 0.7) * (h - 1)),
            float(rng.uniform(0.3, 0.7) * (w - 1)),
        )
        self.sigma = h / 6.0
        rr, cc = np.mgrid[0:h, 0:w]
        blob = np.exp(
            -((rr - self.center[0]) ** 2 + (cc - self.center[1]) ** 2) / (2 * self.sigma**2)
        )
        self._blob = blob
        if channels == 1:
            self.image = blob.copy()
            self.channels = ("blob",)
        else:
            self.image = np.stack([blob, 1.0 - blob], axis=-1)
            self.channels = ("blob", "inverse")
        self.axis = np.linspace(0.0, 10.0, length)
        self.default_scalarizer = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}

    def params(self) -> dict[str, Any]:
        """Parameters that, with ``shape`` and ``seed``, rebuild the sample."""
        return {"length": self.length, "noise": self.noise, "channels": self.n_channels}

    def peak_position(self) -> np.ndarray:
        """Return the exact peak energy :math:`E_0` at every pixel, eV, shape (H, W)."""
        return self.E_BASE + self.E_SHIFT * self._blob

    def _spectra_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        e0 = self.E_BASE + self.E_SHIFT * self._blob[rows, cols]
        return np.exp(-((self.axis[None, :] - e0[:, None]) ** 2) / (2 * self.WIDTH**2))

    def _add_noise(self, spectrum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return spectrum + rng.normal(0.0, self.noise, size=spectrum.shape)
