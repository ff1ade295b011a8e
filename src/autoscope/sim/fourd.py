r"""A simulated 4D-STEM sample: local in-plane fields → shifted bright-field discs.

The latent structure is a two-site square lattice (heavy A columns at the cell
corners, light B columns at the cell centres) cut by one straight, charged
(tail-to-tail) ferroelectric domain wall, with charged point defects on the A
sites (vacancies +q, substitutions -q). The local in-plane field is the
depolarising field of the domains, which steps across the wall, plus the
screened Coulomb fields of the defects (:class:`FourDParams`). The structural
image is a HAADF image of the same lattice (B columns displaced along the
polarisation); at each probe position the diffraction pattern is the
bright-field disc, shifted in proportion to the local field, with Poisson noise
at a set dose, so the centre of mass of the pattern recovers the field.

Examples
--------
>>> from autoscope.sim.fourd import FourDSample
>>> s = FourDSample(shape=(32, 32), seed=1)
>>> s.image.shape, s.spectrum(3, 4).shape, s.field.shape
((32, 32), (32, 32), (32, 32, 2))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from autoscope.errors import InputDataError
from autoscope.sim import _lattice as lat
from autoscope.sim.base import BaseSample, check_shape

__all__ = ["FourDParams", "FourDSample"]

_FWHM = 2.0 * np.sqrt(2.0 * np.log(2.0))
_POS = {"gt": 0.0}
_NONNEG = {"min": 0.0}
_FRAC = {"min": 0.0, "max": 1.0}


@dataclass(frozen=True)
class FourDParams:
    r"""Physics parameters of :class:`FourDSample`.

    In-plane field at position :math:`p` (nm), components :math:`(E_x, E_y)`
    along the scan columns and rows, V/nm:

    .. math::
        \mathbf E(p) = -E_0 \tanh\!\big(s(p)/w\big)\,\hat n
        + \sum_j q_j\, e^{-\rho_j/\lambda}\Big(\frac{1}{\rho_j^2}
        + \frac{1}{\lambda\rho_j}\Big)\frac{p - p_j}{\rho_j},
        \quad \rho_j = \sqrt{\lVert p - p_j\rVert^2 + r_c^2}

    (minus the gradient of the screened potential
    :math:`q_j e^{-\rho_j/\lambda}/\rho_j`), where :math:`s(p)` is the signed
    distance to the wall, :math:`\hat n` the wall normal, :math:`q_j = +q` at
    A-site vacancies and :math:`-q` at A-site substitutions. The polarisation is
    :math:`P \propto \tanh(s/w)\,\hat n` (a charged tail-to-tail wall); the B columns sit
    :math:`u\tanh(s/w)\,\hat n` off the cell centre.

    The diffraction pattern at a pixel, on the detector grid :math:`k`
    (mrad), with disc shift :math:`\mathbf s = -\alpha \mathbf E` (electrons are
    deflected against the field):

    .. math::
        I(k) = N\,\frac{A(\lVert k - \mathbf s\rVert)}{\sum_k A(\lVert k - \mathbf s\rVert)},
        \quad A(\rho) = \tfrac12\big[1 - \tanh\big((\rho - R)/\omega\big)\big]

    Attributes
    ----------
    pixel_size : float
        Scan step, nm.
    lattice_constant : float
        Cell edge, nm.
    column_sigma : float
        Gaussian width of one column's HAADF signal (before the probe), nm.
    probe_fwhm : float
        Probe FWHM in real space, nm.
    z_a, z_b, z_substitution : float
        Atomic numbers of A, B and substitutional A-site columns.
    vacancy_fraction, substitution_fraction : float
        Fractions of A sites that are vacant (+q) / substituted (-q).
    defect_charge : float
        :math:`q`, strength of a defect's screened potential, V·nm.
    screening_length : float
        :math:`\lambda`, nm.
    core_radius : float
        :math:`r_c`, regularising core radius, nm.
    domain_field : float
        :math:`E_0`, depolarising field inside a domain, V/nm.
    wall_width : float
        :math:`w`, domain-wall half width, nm.
    polar_displacement : float
        :math:`u`, B-column displacement in a domain, nm.
    image_dose : float
        Expected HAADF counts at the peak of an A column.
    scan_noise : float
        Standard deviation of the per-scan-line offset, relative to ``image_dose``.
    n_detector : int
        :math:`K`, detector pixels per side.
    detector_step : float
        Detector pixel size, mrad.
    convergence_angle : float
        :math:`R`, bright-field disc radius (probe semi-angle), mrad.
    disc_edge_width : float
        :math:`\omega`, width of the smooth disc edge, mrad. With
        :math:`\omega \gtrsim 0.8` detector pixels the centre of mass of a
        noise-free pattern equals :math:`\mathbf s` within 0.1 %.
    shift_per_field : float
        :math:`\alpha`, disc shift per unit field, mrad per V/nm.
    dose : float
        :math:`N`, electrons per diffraction pattern.
    """

    pixel_size: float = field(default=0.1, metadata=_POS)
    lattice_constant: float = field(default=0.4, metadata=_POS)
    column_sigma: float = field(default=0.04, metadata=_NONNEG)
    probe_fwhm: float = field(default=0.1, metadata=_POS)
    z_a: float = field(default=82.0, metadata=_POS)
    z_b: float = field(default=22.0, metadata=_POS)
    z_substitution: float = field(default=56.0, metadata=_POS)
    vacancy_fraction: float = field(default=0.01, metadata=_FRAC)
    substitution_fraction: float = field(default=0.01, metadata=_FRAC)
    defect_charge: float = field(default=0.1, metadata=_NONNEG)
    screening_length: float = field(default=1.0, metadata=_POS)
    core_radius: float = field(default=0.15, metadata=_POS)
    domain_field: float = field(default=0.5, metadata=_NONNEG)
    wall_width: float = field(default=0.5, metadata=_POS)
    polar_displacement: float = field(default=0.03, metadata=_NONNEG)
    image_dose: float = field(default=50.0, metadata=_POS)
    scan_noise: float = field(default=0.02, metadata=_NONNEG)
    n_detector: int = field(default=32, metadata={"min": 8, "int": True})
    detector_step: float = field(default=2.5, metadata=_POS)
    convergence_angle: float = field(default=20.0, metadata=_POS)
    disc_edge_width: float = field(default=2.0, metadata=_POS)
    shift_per_field: float = field(default=2.0, metadata=_NONNEG)
    dose: float = field(default=1.0e4, metadata=_POS)

    def __post_init__(self) -> None:
        lat.check_param_fields(self)
        if self.vacancy_fraction + self.substitution_fraction > 1.0:
            raise InputDataError(
                "parameters 'vacancy_fraction' + 'substitution_fraction' must be <= 1, got "
                f"{self.vacancy_fraction} + {self.substitution_fraction}"
            )

    def defect_field(self, dx: np.ndarray, dy: np.ndarray, q: np.ndarray) -> np.ndarray:
        r"""Screened Coulomb field of defects of strength ``q`` at offsets ``(dx, dy)`` nm.

        Returns :math:`(E_x, E_y)` stacked on a new last axis, V/nm.
        """
        rho = np.sqrt(dx * dx + dy * dy + self.core_radius**2)
        lam = self.screening_length
        mag = q * np.exp(-rho / lam) * (1.0 / rho**2 + 1.0 / (lam * rho)) / rho
        return np.stack([mag * dx, mag * dy], axis=-1)


def _make_params(params: dict[str, Any]) -> FourDParams:
    names = [f.name for f in dataclasses.fields(FourDParams)]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise InputDataError(f"unknown parameter(s) {unknown}; expected some of {names}")
    return FourDParams(**params)


class FourDSample(BaseSample):
    r"""Simulated 4D-STEM specimen: HAADF image and a diffraction pattern at every pixel.

    See :class:`FourDParams` for the field and pattern formulas.

    Parameters
    ----------
    shape : (int, int)
        Grid ``(H, W)`` in pixels (each >= 8).
    seed : int or None
        Seed of the latent structure and the image noise.
    **params
        Fields of :class:`FourDParams`.

    Attributes
    ----------
    physics : FourDParams
    image : ndarray, shape (H, W)
        Noisy HAADF image, counts.
    image_clean : ndarray, shape (H, W)
        Noise-free HAADF image (1 at an A column peak).
    columns : dict of ndarray
        ``positions`` (n, 2) pixels (row, col), ``z`` (n,), ``kind`` (n,) codes
        (0 host, 1 vacancy, 2 substitution), ``sublattice`` (n,) (0 A, 1 B).
    defects : dict of ndarray
        ``positions`` (m, 2) pixels and ``charge`` (m,) V·nm of the charged defects.
    wall : dict
        ``point`` (row, col) pixels on the wall and unit ``normal`` (row, col).
    polarisation : ndarray, shape (H, W)
        :math:`\tanh(s/w)`, signed polarisation along the wall normal (-1..1).
    field : ndarray, shape (H, W, 2)
        :math:`(E_x, E_y)`, V/nm (x along columns, y along rows).
    shift_per_field : float
        :math:`\alpha`, mrad per V/nm.
    shift : ndarray, shape (H, W, 2)
        Disc shift :math:`(s_x, s_y) = -\alpha (E_x, E_y)`, mrad.
    axis : ndarray, shape (K,)
        Detector coordinate, mrad (the same for both detector dimensions;
        pattern rows are :math:`k_y`, columns :math:`k_x`).

    Raises
    ------
    InputDataError
        Bad shape, seed or parameter, or a disc that would leave the detector.
    """

    kind = "fourd"
    channels = ("haadf",)
    image_units = "counts"
    axis_name = "detector angle"
    axis_units = "mrad"
    spectrum_units = "electrons"
    pixel_units = "nm"
    default_scalarizer = {"name": "com_magnitude", "params": {}}
    #: a (1024, 32, 32) chunk of patterns is 8 MB
    chunk_pixels = 1024

    def __init__(self, shape: tuple[int, int] = (128, 128), seed: int | None = 0, **params: Any):
        h, w = check_shape(shape)
        self.seed = lat.check_seed(seed)
        p = self.physics = _make_params(params)
        self.default_scalarizer = dict(self.default_scalarizer, params={})
        px = self.pixel_size = float(p.pixel_size)
        k = int(p.n_detector)
        self.axis = (np.arange(k) - 0.5 * (k - 1)) * p.detector_step
        self.shift_per_field = float(p.shift_per_field)
        rng_struct, rng_noise = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2)
        )
        spacing = p.lattice_constant / px
        sites, sub = lat.lattice_sites(
            (h, w), spacing, rng_struct.uniform(0.0, spacing, 2), ((0.0, 0.0), (0.5, 0.5))
        )
        point = np.array([h, w]) * rng_struct.uniform(0.25, 0.75, 2)
        theta = rng_struct.uniform(0.0, np.pi)
        normal = np.array([np.sin(theta), np.cos(theta)])
        self.wall = {"point": point, "normal": normal}
        wpx = p.wall_width / px
        pol_sites = np.tanh(((sites - point) @ normal) / wpx)
        sites = sites.copy()
        sites[sub == 1] += (p.polar_displacement / px) * pol_sites[sub == 1, None] * normal
        kind = np.full(len(sites), lat.HOST, dtype=np.int8)
        u = rng_struct.random(len(sites))
        a_site = sub == 0
        kind[a_site & (u < p.vacancy_fraction + p.substitution_fraction)] = lat.SUBSTITUTION
        kind[a_site & (u < p.vacancy_fraction)] = lat.VACANCY
        z = np.where(sub == 0, p.z_a, p.z_b)
        z[kind == lat.SUBSTITUTION] = p.z_substitution
        z[kind == lat.VACANCY] = 0.0
        self.columns = {"positions": sites, "z": z, "kind": kind, "sublattice": sub}
        occ = kind != lat.VACANCY
        sigma = np.hypot(p.column_sigma, p.probe_fwhm / _FWHM) / px
        self.image_clean = lat.render_columns((h, w), sites[occ], (z[occ] / p.z_a) ** 1.7, sigma)
        self.image = lat.haadf_noise(self.image_clean, p.image_dose, p.scan_noise, rng_noise)
        charged = kind != lat.HOST
        self.defects = {
            "positions": sites[charged],
            "charge": np.where(kind[charged] == lat.VACANCY, 1.0, -1.0) * p.defect_charge,
        }
        rr, cc = np.mgrid[0:h, 0:w].astype(float)
        self.polarisation = np.tanh(
            ((rr - point[0]) * normal[0] + (cc - point[1]) * normal[1]) / wpx
        )
        e = -p.domain_field * self.polarisation[..., None] * normal[::-1]  # (E_x, E_y)
        for (dr, dc), q in zip(self.defects["positions"], self.defects["charge"], strict=True):
            e += p.defect_field((cc - dc) * px, (rr - dr) * px, q)
        self.field = e
        self.shift = -self.shift_per_field * e
        reach = p.convergence_angle + float(np.abs(self.shift).max(initial=0.0))
        if reach + 3.0 * p.disc_edge_width > self.axis[-1]:
            raise InputDataError(
                "the bright-field disc leaves the detector: radius + largest shift + 3 edge "
                f"widths = {reach + 3.0 * p.disc_edge_width:.3g} mrad > detector half-width "
                f"{self.axis[-1]:.3g} mrad; reduce convergence_angle, shift_per_field or the "
                f"fields, or enlarge n_detector * detector_step"
            )

    def params(self) -> dict[str, Any]:
        """Return the physics parameters as a JSON dict (with kind and seed: the sample)."""
        return dataclasses.asdict(self.physics)

    def _spectra_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Noise-free diffraction patterns (expected electrons per detector pixel), (n, K, K)."""
        p = self.physics
        s = self.shift[rows, cols]  # (n, 2) = (s_x, s_y)
        k = self.axis
        dy = k[None, :, None] - s[:, 1, None, None]
        dx = k[None, None, :] - s[:, 0, None, None]
        disc = expit(-2.0 * (np.sqrt(dx * dx + dy * dy) - p.convergence_angle) / p.disc_edge_width)
        return p.dose * disc / disc.sum(axis=(1, 2), keepdims=True)

    def _add_noise(self, spectrum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Poisson counting noise on the expected electrons per detector pixel."""
        return rng.poisson(np.clip(spectrum, 0.0, None)).astype(float)
