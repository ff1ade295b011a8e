r"""Latent ferroelectric domain structure of the simulated SPM sample (phase field and walls).

A tetragonal ferroelectric film (PbTiO3-like) seen from above has four
polarisation variants in a two-component order parameter
:math:`\mathbf P = (P_1, P_2)`: :math:`P_1` out of plane (c domains, c+ / c-)
and :math:`P_2` in plane (a domains, a+ / a-). The domain pattern is relaxed by
the time-dependent Ginzburg-Landau (Allen-Cahn) equation

.. math::
    \partial_t P_i = -\partial f / \partial P_i + \kappa_i \nabla^2 P_i, \qquad
    f = -\tfrac12 (P_1^2 + P_2^2) + \tfrac14 (P_1^4 + P_2^4) + \tfrac{\gamma}{2} P_1^2 P_2^2

(reduced units: :math:`|\mathbf P| = 1` in a domain), integrated with a
semi-implicit Fourier scheme (gradient term implicit) from a seeded initial
pattern: thresholded smooth random fields place c+/c- regions (correlation
length ``domain_size``) and a-domain lenses elongated along the rows (as the
{101} ferroelastic walls meet the surface along one axis). The in-plane
gradient coefficient of :math:`P_2` is larger along the rows, which keeps the
lenses elongated. For :math:`\gamma > 3` a 180° wall stays Ising-like
(:math:`P_2 = 0` through the wall: the Pöschl-Teller bound state of the
:math:`P_2` fluctuation has positive energy when
:math:`\gamma - 1 > s^2/2`, :math:`s(s+1) = 2\gamma`), so the two wall kinds
are distinct: **180° walls** between antiparallel variants (c+/c-, a+/a-) and
**90° (ferroelastic) walls** between perpendicular ones (c/a).

Walls and distances are computed on the discrete variant map
``argmax(P_1, -P_1, P_2, -P_2)``; see :func:`wall_maps`. The field is
simulated on a grid padded by ``domain_size`` on every side and cropped, so the
pattern is not periodic and distances to walls just outside the scan are right.
:func:`pfm_image` is the forward model of what a PFM tip sees of this structure.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "A_MINUS",
    "A_PLUS",
    "C_MINUS",
    "C_PLUS",
    "KIND_90",
    "KIND_180",
    "domain_structure",
    "pfm_image",
    "smooth_noise",
    "variants",
    "wall_maps",
]

#: variant codes of the discrete domain map
C_PLUS, C_MINUS, A_PLUS, A_MINUS = 0, 1, 2, 3
#: wall kind codes (degrees between the polarisations either side; 0 = no wall anywhere)
KIND_180, KIND_90 = 180, 90


def smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sigma: float | tuple[float, float]
) -> np.ndarray:
    """Gaussian-filtered white noise normalised to zero mean and unit standard deviation.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : (int, int)
        ``(H, W)``.
    sigma : float or (float, float)
        Correlation length(s) in px (rows, cols).

    Returns
    -------
    ndarray, shape (H, W)
    """
    n = ndi.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    n -= n.mean()
    return n / max(float(n.std()), 1e-12)


def variants(p: np.ndarray) -> np.ndarray:
    """Discrete variant map ``argmax(P1, -P1, P2, -P2)`` of a polarisation field.

    Parameters
    ----------
    p : ndarray, shape (2, H, W)

    Returns
    -------
    ndarray of int8, shape (H, W)
        :data:`C_PLUS`, :data:`C_MINUS`, :data:`A_PLUS` or :data:`A_MINUS`.
    """
    return np.argmax(np.stack([p[0], -p[0], p[1], -p[1]]), axis=0).astype(np.int8)


def wall_maps(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to, and kind of, the nearest domain wall.

    A *wall pixel* is one with a 4-neighbour (inside the array) of another
    variant; it is a 180° wall pixel if any such neighbour is antiparallel
    (same axis), else a 90° wall pixel. So a wall is the two pixel rows either
    side of the plane where the variant changes, and 180° wins at junctions.

    Parameters
    ----------
    v : ndarray of int, shape (H, W)
        Variant map (:func:`variants`).

    Returns
    -------
    distance : ndarray, shape (H, W)
        Euclidean distance (px) from each pixel centre to the nearest wall
        pixel (0 on wall pixels; ``inf`` everywhere if there is no wall).
    kind : ndarray of int16, shape (H, W)
        Kind of that nearest wall: :data:`KIND_180` or :data:`KIND_90`
        (0 everywhere if there is no wall).
    """
    w180 = np.zeros(v.shape, bool)
    w90 = np.zeros(v.shape, bool)
    axis = v // 2
    for ax in (0, 1):
        n = v.shape[ax]
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[ax], b[ax] = slice(0, n - 1), slice(1, n)
        diff = v[tuple(a)] != v[tuple(b)]
        anti = diff & (axis[tuple(a)] == axis[tuple(b)])
        perp = diff & ~anti
        for s in (tuple(a), tuple(b)):
            w180[s] |= anti
            w90[s] |= perp
    w90 &= ~w180
    wall = w180 | w90
    if not wall.any():
        return np.full(v.shape, np.inf), np.zeros(v.shape, np.int16)
    dist, (ri, ci) = ndi.distance_transform_edt(~wall, return_indices=True)
    kind = np.where(w180[ri, ci], KIND_180, KIND_90).astype(np.int16)
    return dist, kind


@functools.lru_cache(maxsize=8)
def _relaxed_field(
    shape: tuple[int, int],
    seed: int | None,
    domain_size: float,
    a_fraction: float,
    up_fraction: float,
    gamma: float,
    steps: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    h, w = shape
    pad = int(np.ceil(domain_size))
    hp, wp = h + 2 * pad, w + 2 * pad
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    s = domain_size / 5.0
    c = smooth_noise(rng, (hp, wp), s)
    a = smooth_noise(rng, (hp, wp), s)
    eta = smooth_noise(rng, (hp, wp), (4.0 * s, 0.4 * s))
    a_mask = eta > np.quantile(eta, 1.0 - a_fraction) if a_fraction > 0 else np.zeros_like(c, bool)
    c_sign = np.where(c >= np.quantile(c, 1.0 - up_fraction), 1.0, -1.0)
    a_sign = np.where(a >= 0.0, 1.0, -1.0)
    p = np.stack([np.where(a_mask, 0.0, c_sign), np.where(a_mask, a_sign, 0.0)])
    p += 0.05 * rng.standard_normal(p.shape)
    dt, kappa, stripe = 0.25, 1.0, 4.0
    ky = 2.0 * np.pi * np.fft.fftfreq(hp)[:, None]
    kx = 2.0 * np.pi * np.fft.fftfreq(wp)[None, :]
    den = np.stack(
        [1.0 + dt * kappa * (ky**2 + kx**2), 1.0 + dt * kappa * (stripe * ky**2 + kx**2)]
    )
    for _ in range(int(steps)):
        p1, p2 = p
        grad = np.stack([-p1 + p1**3 + gamma * p1 * p2**2, -p2 + p2**3 + gamma * p2 * p1**2])
        p = np.real(np.fft.ifft2(np.fft.fft2(p - dt * grad) / den))
    out = np.ascontiguousarray(p[:, pad : pad + h, pad : pad + w])
    v = variants(p)
    dist, kind = wall_maps(v)
    crop = (slice(pad, pad + h), slice(pad, pad + w))
    arrays = (out, v[crop].copy(), dist[crop].copy(), kind[crop].copy())
    for arr in arrays:
        arr.setflags(write=False)
    return arrays


def domain_structure(
    shape: tuple[int, int],
    seed: int | None,
    *,
    domain_size: float = 24.0,
    a_fraction: float = 0.3,
    up_fraction: float = 0.5,
    gamma: float = 6.0,
    steps: int = 40,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Relaxed polarisation field, variant map and wall maps (cached per arguments).

    Parameters
    ----------
    shape : (int, int)
        ``(H, W)`` in px.
    seed : int or None
        Seed of the initial pattern (``None``: fresh entropy, not cached).
    domain_size : float
        Correlation length of the c+/c- pattern, px.
    a_fraction : float
        Fraction of the area seeded as a domains (relaxation shrinks thin lenses).
    up_fraction : float
        Fraction of the c area seeded as c+.
    gamma : float
        Biquadratic coupling :math:`\gamma` (> 3 keeps 180° walls Ising-like).
    steps : int
        Relaxation steps (time step 0.25 in units of the Landau relaxation time).

    Returns
    -------
    p : ndarray, shape (2, H, W)
        Polarisation :math:`(P_1, P_2)`, reduced units.
    variant : ndarray of int8, shape (H, W)
    distance : ndarray, shape (H, W)
        Distance to the nearest wall, px (:func:`wall_maps`).
    kind : ndarray of int16, shape (H, W)
        Kind of the nearest wall, 180 or 90.

    Notes
    -----
    Arrays are read-only and shared between samples with equal arguments.
    """
    func = _relaxed_field if seed is not None else _relaxed_field.__wrapped__
    return func(
        (int(shape[0]), int(shape[1])),
        seed,
        float(domain_size),
        float(a_fraction),
        float(up_fraction),
        float(gamma),
        int(steps),
    )


def pfm_image(
    p: np.ndarray,
    distance: np.ndarray,
    kind: np.ndarray,
    rng_img: np.random.Generator,
    rng_top: np.random.Generator,
    *,
    image_noise: float = 0.02,
    step_height: float = 0.4,
    n_features: int = 4,
    feature_height: float = 2.0,
) -> np.ndarray:
    r"""Vertical-PFM amplitude, phase and topography of a domain structure.

    With :math:`G_\sigma` a Gaussian tip blur, :math:`W_{90} = e^{-d^2/2}` where
    the nearest wall is a 90° wall (else 0), :math:`d` in px, and :math:`n`
    unit Gaussian noise times ``image_noise``:

    - amplitude (a.u.) :math:`= G_1[\sqrt{P_1^2 + (0.3 P_2)^2}\,(1 - 0.4 W_{90})] + n`;
    - phase (deg) :math:`= \arg(G_1 P_1 + n + i(0.1 + n)) \bmod 360`;
    - topography (nm) :math:`= -h\,G_{1.5}[P_2^2/|\mathbf P|^2]
      + \sum_j h_j e^{-|x - x_j|^2/2s_j^2} + h\,n` (``n_features`` particles,
      :math:`h_j \sim U(0.5, 1)\,` ``feature_height``, :math:`s_j \sim U(1.5, 3)` px).

    Parameters
    ----------
    p : ndarray, shape (2, H, W)
        Polarisation.
    distance, kind : ndarray, shape (H, W)
        Wall maps (:func:`wall_maps`).
    rng_img, rng_top : numpy.random.Generator
        Noise and surface-particle sources.
    image_noise, step_height, n_features, feature_height
        See :class:`autoscope.sim.spm.SPMParams`.

    Returns
    -------
    ndarray, shape (H, W, 3)
    """
    h, w = distance.shape
    p1, p2 = p
    w90 = np.where(kind == KIND_90, np.exp(-(distance**2) / 2.0), 0.0)
    amp = ndi.gaussian_filter(np.sqrt(p1**2 + (0.3 * p2) ** 2) * (1.0 - 0.4 * w90), 1.0)
    amp = amp + image_noise * rng_img.standard_normal((h, w))
    re = ndi.gaussian_filter(p1, 1.0) + image_noise * rng_img.standard_normal((h, w))
    im = 0.1 + image_noise * rng_img.standard_normal((h, w))
    phase = np.degrees(np.arctan2(im, re)) % 360.0
    a_frac = p2**2 / np.maximum(p1**2 + p2**2, 1e-12)
    topo = -step_height * ndi.gaussian_filter(a_frac, 1.5)
    rr, cc = np.mgrid[0:h, 0:w]
    for _ in range(int(n_features)):
        r0, c0 = rng_top.uniform(0, h), rng_top.uniform(0, w)
        sig = rng_top.uniform(1.5, 3.0)
        hgt = feature_height * rng_top.uniform(0.5, 1.0)
        topo = topo + hgt * np.exp(-((rr - r0) ** 2 + (cc - c0) ** 2) / (2 * sig**2))
    topo = topo + image_noise * step_height * rng_img.standard_normal((h, w))
    return np.stack([amp, phase, topo], axis=-1)
