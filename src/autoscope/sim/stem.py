r"""A simulated STEM-EELS sample: HAADF image of atom columns and particles, low-loss EELS.

The latent structure is a square lattice of atom columns (host atoms, vacancies,
substitutions) with a few disc-shaped nanoparticles of heavier columns. The
HAADF image is the sum of column Gaussians weighted by :math:`Z^{1.7}` and
convolved with the probe, plus counting and scan-line noise. The low-loss
spectrum at each pixel is a zero-loss peak, a Drude bulk plasmon and a
Lorentzian edge (interface) plasmon whose energy and height are explicit
functions of the distance to the nearest particle edge and of the local
composition (:class:`STEMParams`), so that the edge-plasmon / bulk-plasmon peak
ratio and the edge-plasmon energy are extreme on a few per cent of the pixels,
those close to particle edges (like the edge and bulk plasmons of MnPS3 flakes).

Examples
--------
>>> from autoscope.sim.stem import STEMSample
>>> s = STEMSample(shape=(32, 32), seed=1)
>>> s.image.shape, s.axis_units, s.spectrum(3, 4).shape
((32, 32), 'eV', (169,))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.sim import _lattice as lat
from autoscope.sim.base import BaseSample, check_shape

__all__ = ["STEMParams", "STEMSample"]

_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))
_POS = {"gt": 0.0}
_NONNEG = {"min": 0.0}
_FRAC = {"min": 0.0, "max": 1.0}


@dataclass(frozen=True)
class STEMParams:
    r"""Physics parameters of :class:`STEMSample`.

    The noise-free spectrum (counts per channel) at a pixel at distance
    :math:`d` (nm) from the nearest particle edge, with local composition
    :math:`c \in [0, 1]` (0 host, 1 particle), is

    .. math::
        S(E) = D\Big[h_z e^{-E^2/2\sigma_z^2}
        + \frac{\Gamma_b}{E_p}\frac{E\,\Gamma_b E_p^2}{(E^2-E_p^2)^2+(E\Gamma_b)^2}
        + h_s\frac{(\Gamma_s/2)^2}{(E-E_s)^2+(\Gamma_s/2)^2}\Big]

    (inelastic terms only for :math:`E > 0`; the Drude term equals 1 at
    :math:`E = E_p`), with

    .. math::
        E_p(c) = E_p^m + (E_p^p - E_p^m)\,c, \quad
        E_s(d, c) = E_s^m + (E_s^p - E_s^m)\,c - \delta E\, e^{-d/\ell_E},

        h_s(d, c) = h_{s0}\,(1 + \kappa c)\,\big[f + (1 - f)\, e^{-d/\ell_h}\big].

    :math:`d = |\min_k(\lVert p - c_k\rVert - r_k)|` for disc particles
    (centre :math:`c_k`, radius :math:`r_k`) and
    :math:`c(p) = \sum_j x_j g_j(p) / \sum_j g_j(p)` with
    :math:`x_j = \mathrm{clip}((Z_j - Z_m)/(Z_p - Z_m), 0, 1)` over occupied
    columns and Gaussian weights :math:`g_j` of width ``composition_length``.

    Attributes
    ----------
    pixel_size : float
        Scan step, nm.
    lattice_constant : float
        Spacing of the square column lattice, nm.
    column_sigma : float
        Gaussian width of one atom column's HAADF signal (before the probe), nm.
    probe_fwhm : float
        Probe full width at half maximum, nm.
    z_matrix, z_substitution, z_particle : float
        Atomic numbers of host, substitutional and particle columns
        (``z_particle > z_matrix``).
    vacancy_fraction, substitution_fraction : float
        Fractions of host sites that are empty / substituted (sum <= 1).
    n_particles : int or None
        Number of particles; None → ``max(1, round(area / 50 nm^2))``.
    particle_radius : float
        Mean particle radius, nm (capped at a quarter of the smaller grid side).
    particle_radius_spread : float
        Relative half-range of particle radii (0..1).
    particle_gap : float
        Minimum distance between particle edges, nm.
    composition_length : float
        Averaging length of the local composition, nm.
    image_dose : float
        Expected HAADF counts at the peak of a host column.
    scan_noise : float
        Standard deviation of the per-scan-line offset, relative to ``image_dose``.
    energy_min : float
        First energy-loss channel, eV.
    dispersion : float
        Channel width, eV.
    n_channels : int
        Number of energy channels L.
    dose : float
        :math:`D`: expected counts per channel at the bulk-plasmon maximum.
    zlp_height : float
        :math:`h_z`: zero-loss peak height relative to the bulk plasmon.
    zlp_fwhm : float
        Zero-loss peak FWHM (:math:`2.3548\,\sigma_z`), eV.
    bulk_energy_matrix, bulk_energy_particle : float
        :math:`E_p^m, E_p^p`: bulk plasmon energies of host and particle, eV.
    bulk_width : float
        :math:`\Gamma_b`: bulk plasmon damping, eV.
    surface_energy_matrix, surface_energy_particle : float
        :math:`E_s^m, E_s^p`: edge-plasmon energies far from edges, eV.
    surface_redshift : float
        :math:`\delta E`: red shift of the edge plasmon at a particle edge, eV.
    energy_decay_length : float
        :math:`\ell_E`: decay length of the red shift, nm.
    surface_height : float
        :math:`h_{s0}`: edge-plasmon height at an edge (relative to the bulk plasmon).
    surface_floor : float
        :math:`f`: edge-plasmon height far from edges, as a fraction of :math:`h_{s0}`.
    height_decay_length : float
        :math:`\ell_h`: decay length of the edge-plasmon height, nm.
    composition_gain : float
        :math:`\kappa`: relative increase of the edge-plasmon height per unit composition.
    surface_width : float
        :math:`\Gamma_s`: edge-plasmon FWHM, eV.
    """

    pixel_size: float = field(default=0.1, metadata=_POS)
    lattice_constant: float = field(default=0.4, metadata=_POS)
    column_sigma: float = field(default=0.04, metadata=_NONNEG)
    probe_fwhm: float = field(default=0.1, metadata=_POS)
    z_matrix: float = field(default=14.0, metadata=_POS)
    z_substitution: float = field(default=32.0, metadata=_POS)
    z_particle: float = field(default=79.0, metadata=_POS)
    vacancy_fraction: float = field(default=0.03, metadata=_FRAC)
    substitution_fraction: float = field(default=0.03, metadata=_FRAC)
    n_particles: int | None = field(default=None, metadata={"min": 0, "int": True})
    particle_radius: float = field(default=1.2, metadata=_POS)
    particle_radius_spread: float = field(default=0.25, metadata=_FRAC)
    particle_gap: float = field(default=0.6, metadata=_NONNEG)
    composition_length: float = field(default=0.3, metadata=_POS)
    image_dose: float = field(default=50.0, metadata=_POS)
    scan_noise: float = field(default=0.02, metadata=_NONNEG)
    energy_min: float = -2.0
    dispersion: float = field(default=0.25, metadata=_POS)
    n_channels: int = field(default=169, metadata={"min": 16, "int": True})
    dose: float = field(default=1000.0, metadata=_POS)
    zlp_height: float = field(default=20.0, metadata=_NONNEG)
    zlp_fwhm: float = field(default=0.6, metadata=_POS)
    bulk_energy_matrix: float = field(default=15.0, metadata=_POS)
    bulk_energy_particle: float = field(default=20.0, metadata=_POS)
    bulk_width: float = field(default=3.0, metadata=_POS)
    surface_energy_matrix: float = field(default=7.0, metadata=_POS)
    surface_energy_particle: float = field(default=7.5, metadata=_POS)
    surface_redshift: float = field(default=2.0, metadata=_NONNEG)
    energy_decay_length: float = field(default=0.3, metadata=_POS)
    surface_height: float = field(default=1.2, metadata=_POS)
    surface_floor: float = field(default=0.1, metadata=_FRAC)
    height_decay_length: float = field(default=0.25, metadata=_POS)
    composition_gain: float = field(default=0.2, metadata=_NONNEG)
    surface_width: float = field(default=1.0, metadata=_POS)

    def __post_init__(self) -> None:
        lat.check_param_fields(self)
        if not self.z_particle > self.z_matrix:
            raise InputDataError(
                f"parameter 'z_particle' must exceed z_matrix={self.z_matrix}, "
                f"got {self.z_particle!r}"
            )
        if self.vacancy_fraction + self.substitution_fraction > 1.0:
            raise InputDataError(
                "parameters 'vacancy_fraction' + 'substitution_fraction' must be <= 1, got "
                f"{self.vacancy_fraction} + {self.substitution_fraction}"
            )

    def bulk_energy(self, c: np.ndarray) -> np.ndarray:
        """Bulk plasmon energy :math:`E_p(c)`, eV."""
        return self.bulk_energy_matrix + (self.bulk_energy_particle - self.bulk_energy_matrix) * c

    def surface_energy(self, d: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Edge-plasmon energy :math:`E_s(d, c)`, eV (``d`` in nm)."""
        far = self.surface_energy_matrix + (
            self.surface_energy_particle - self.surface_energy_matrix
        ) * np.asarray(c)
        return far - self.surface_redshift * np.exp(-np.asarray(d) / self.energy_decay_length)

    def surface_peak_height(self, d: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Edge-plasmon height :math:`h_s(d, c)` relative to the bulk plasmon (``d`` in nm)."""
        f = self.surface_floor
        decay = f + (1.0 - f) * np.exp(-np.asarray(d) / self.height_decay_length)
        return self.surface_height * (1.0 + self.composition_gain * np.asarray(c)) * decay


def _make_params(cls: type, params: dict[str, Any]) -> Any:
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise InputDataError(f"unknown parameter(s) {unknown}; expected some of {names}")
    return cls(**params)


class STEMSample(BaseSample):
    """Simulated STEM-EELS specimen: HAADF image and low-loss EELS at every pixel.

    See :class:`STEMParams` for the spectrum formula and the physics parameters.

    Parameters
    ----------
    shape : (int, int)
        Grid ``(H, W)`` in pixels (each >= 8).
    seed : int or None
        Seed of the latent structure and the image noise.
    **params
        Fields of :class:`STEMParams`.

    Attributes
    ----------
    physics : STEMParams
    image : ndarray, shape (H, W)
        Noisy HAADF image, counts.
    image_clean : ndarray, shape (H, W)
        Noise-free HAADF image (1 at a host column peak).
    columns : dict of ndarray
        ``positions`` (n, 2) pixels (row, col), ``z`` (n,), ``kind`` (n,) codes
        0 host, 1 vacancy, 2 substitution, 3 particle (see :mod:`._lattice`).
    particles : ndarray, shape (m, 3)
        ``(row, col, radius)`` of each disc particle, pixels.
    edge_distance : ndarray, shape (H, W)
        :math:`d`, distance to the nearest particle edge, nm.
    inside : ndarray of bool, shape (H, W)
        Pixel centre lies inside a particle.
    composition : ndarray, shape (H, W)
        :math:`c`, local particle-material fraction.
    axis : ndarray, shape (L,)
        Energy loss, eV.

    Raises
    ------
    InputDataError
        Bad shape, seed or parameter (named in the message).
    """

    kind = "stem"
    channels = ("haadf",)
    image_units = "counts"
    axis_name = "energy loss"
    axis_units = "eV"
    spectrum_units = "counts"
    pixel_units = "nm"

    def __init__(self, shape: tuple[int, int] = (128, 128), seed: int | None = 0, **params: Any):
        h, w = check_shape(shape)
        self.seed = lat.check_seed(seed)
        p = self.physics = _make_params(STEMParams, params)
        self.pixel_size = float(p.pixel_size)
        self.axis = p.energy_min + p.dispersion * np.arange(int(p.n_channels))
        self.default_scalarizer = self._bands()
        rng_struct, rng_noise = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2)
        )
        px = p.pixel_size
        spacing = p.lattice_constant / px
        sites, _ = lat.lattice_sites((h, w), spacing, rng_struct.uniform(0.0, spacing, 2))
        n_part = p.n_particles
        if n_part is None:
            n_part = max(1, round(h * w * px * px / 50.0))
        radius = min(p.particle_radius / px, 0.25 * min(h, w))
        self.particles = lat.place_discs(
            (h, w), int(n_part), radius, p.particle_radius_spread, p.particle_gap / px, rng_struct
        )
        kind = np.full(len(sites), lat.HOST, dtype=np.int8)
        u = rng_struct.random(len(sites))
        kind[u < p.vacancy_fraction + p.substitution_fraction] = lat.SUBSTITUTION
        kind[u < p.vacancy_fraction] = lat.VACANCY
        for cy, cx, r in self.particles:
            kind[np.hypot(sites[:, 0] - cy, sites[:, 1] - cx) < r] = lat.PARTICLE
        z_of = np.array([p.z_matrix, 0.0, p.z_substitution, p.z_particle])
        z = z_of[kind]
        self.columns = {"positions": sites, "z": z, "kind": kind}
        occ = kind != lat.VACANCY
        sigma = np.hypot(p.column_sigma, p.probe_fwhm / _FWHM) / px
        self.image_clean = lat.render_columns(
            (h, w), sites[occ], (z[occ] / p.z_matrix) ** 1.7, sigma
        )
        self.image = lat.haadf_noise(self.image_clean, p.image_dose, p.scan_noise, rng_noise)
        signed = lat.disc_signed_distance((h, w), self.particles)
        self.inside = signed < 0
        self.edge_distance = np.abs(signed) * px
        frac = np.clip((z[occ] - p.z_matrix) / (p.z_particle - p.z_matrix), 0.0, 1.0)
        self.composition = lat.local_average((h, w), sites[occ], frac, p.composition_length / px)

    def _bands(self) -> dict[str, Any]:
        """Return the default peak-ratio spec: edge-plasmon band over bulk-plasmon band, eV."""
        p = self.physics
        es = (p.surface_energy_matrix, p.surface_energy_particle)
        ep = (p.bulk_energy_matrix, p.bulk_energy_particle)
        lo1 = max(min(es) - p.surface_redshift - 2.0 * p.surface_width, self.axis[1])
        hi1 = max(es) + 1.5 * p.surface_width
        lo2 = min(ep) - p.bulk_width
        hi2 = min(max(ep) + 2.0 * p.bulk_width, self.axis[-2])
        if not (hi1 < lo2 < hi2 and max(ep) + p.bulk_width <= self.axis[-1]):
            raise InputDataError(
                f"the edge-plasmon band [{lo1:.2f}, {hi1:.2f}] eV must lie below the bulk-plasmon "
                f"band [{lo2:.2f}, {hi2:.2f}] eV inside the axis [{self.axis[0]}, "
                f"{self.axis[-1]}] eV; check the plasmon energies, widths and n_channels"
            )
        vals = [round(float(v), 2) for v in (lo1, hi1, lo2, hi2)]
        return {
            "name": "peak_ratio",
            "params": dict(zip(("low1", "high1", "low2", "high2"), vals, strict=True)),
        }

    def params(self) -> dict[str, Any]:
        """Return the physics parameters as a JSON dict (with kind and seed: the sample)."""
        return dataclasses.asdict(self.physics)

    @property
    def peak_energy_map(self) -> np.ndarray:
        """Edge-plasmon energy :math:`E_s(d, c)` at every pixel, eV, shape (H, W)."""
        return self.physics.surface_energy(self.edge_distance, self.composition)

    @property
    def peak_height_map(self) -> np.ndarray:
        """Edge-plasmon height :math:`h_s(d, c)` at every pixel (relative), shape (H, W)."""
        return self.physics.surface_peak_height(self.edge_distance, self.composition)

    def _spectra_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Noise-free spectra (counts), shape (n, L)."""
        p = self.physics
        d = self.edge_distance[rows, cols][:, None]
        c = self.composition[rows, cols][:, None]
        e = self.axis[None, :]
        pos = e > 0
        sz = p.zlp_fwhm / _FWHM
        out = p.zlp_height * np.exp(-(e**2) / (2 * sz * sz))
        ep, gb = p.bulk_energy(c), p.bulk_width
        drude = (gb / ep) * e * gb * ep**2 / ((e**2 - ep**2) ** 2 + (e * gb) ** 2)
        hw2 = (0.5 * p.surface_width) ** 2
        es, hs = p.surface_energy(d, c), p.surface_peak_height(d, c)
        lor = hs * hw2 / ((e - es) ** 2 + hw2)
        out = out + np.where(pos, drude + lor, 0.0)
        return p.dose * out

    def _add_noise(self, spectrum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Poisson counting noise on the expected counts."""
        return rng.poisson(np.clip(spectrum, 0.0, None)).astype(float)
