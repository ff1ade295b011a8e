"""Latent atomic structure shared by the simulated STEM samples (EELS and 4D-STEM).

Building blocks, all in pixel coordinates ``(row, col)`` of an ``H x W`` scan:
atom-column lattices with a basis, point defects (vacancies, substitutions),
non-overlapping disc-shaped nanoparticles and their signed edge distance,
rendering of columns as Gaussians (HAADF), Gaussian-weighted local averages of
column properties (composition), HAADF noise, and the checks of the frozen
physics-parameter dataclasses.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = [
    "HOST",
    "PARTICLE",
    "SUBSTITUTION",
    "VACANCY",
    "check_param_fields",
    "check_seed",
    "disc_signed_distance",
    "haadf_noise",
    "lattice_sites",
    "local_average",
    "place_discs",
    "render_columns",
]

#: column kind codes
HOST, VACANCY, SUBSTITUTION, PARTICLE = 0, 1, 2, 3


def check_seed(seed: Any) -> int | None:
    """Return ``seed`` as an int (or None), raising :class:`InputDataError` otherwise."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputDataError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def check_param_fields(params: Any) -> None:
    """Validate the fields of a frozen physics-parameter dataclass.

    Each field's ``metadata`` may hold ``"min"`` (inclusive lower bound),
    ``"gt"`` (exclusive lower bound), ``"max"`` (inclusive upper bound) and
    ``"int"`` (must be integral); ``None`` is allowed where the default is None.

    Raises
    ------
    InputDataError
        Naming the first parameter that is not a finite number in its range.
    """
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if v is None and f.default is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not np.isfinite(v):
            raise InputDataError(f"parameter {f.name!r} must be a finite number, got {v!r}")
        md = f.metadata
        if md.get("int") and float(v) != int(v):
            raise InputDataError(f"parameter {f.name!r} must be an integer, got {v!r}")
        if "gt" in md and not v > md["gt"]:
            raise InputDataError(f"parameter {f.name!r} must be > {md['gt']}, got {v!r}")
        if "min" in md and not v >= md["min"]:
            raise InputDataError(f"parameter {f.name!r} must be >= {md['min']}, got {v!r}")
        if "max" in md and not v <= md["max"]:
            raise InputDataError(f"parameter {f.name!r} must be <= {md['max']}, got {v!r}")


def lattice_sites(
    shape: tuple[int, int],
    spacing: float,
    offset: np.ndarray,
    basis: tuple[tuple[float, float], ...] = ((0.0, 0.0),),
) -> tuple[np.ndarray, np.ndarray]:
    """Sites of a square lattice with a basis, covering the grid plus one spacing of margin.

    Parameters
    ----------
    shape : (int, int)
        Grid ``(H, W)``.
    spacing : float
        Lattice constant in pixels.
    offset : ndarray, shape (2,)
        Position ``(row, col)`` of one lattice point, pixels.
    basis : tuple of (float, float)
        Basis positions in units of ``spacing`` (``(0.5, 0.5)`` is the cell centre).

    Returns
    -------
    positions : ndarray, shape (n, 2)
        Site positions ``(row, col)`` in pixels.
    sublattice : ndarray, shape (n,)
        Index into ``basis`` of each site.
    """
    h, w = shape
    i = np.arange(np.floor((-spacing - offset[0]) / spacing), np.ceil((h + spacing) / spacing) + 1)
    j = np.arange(np.floor((-spacing - offset[1]) / spacing), np.ceil((w + spacing) / spacing) + 1)
    ii, jj = np.meshgrid(i, j, indexing="ij")
    pos, sub = [], []
    for k, (br, bc) in enumerate(basis):
        p = np.stack(
            [offset[0] + (ii.ravel() + br) * spacing, offset[1] + (jj.ravel() + bc) * spacing], 1
        )
        keep = (p[:, 0] > -spacing) & (p[:, 0] < h + spacing)
        keep &= (p[:, 1] > -spacing) & (p[:, 1] < w + spacing)
        pos.append(p[keep])
        sub.append(np.full(int(keep.sum()), k))
    return np.concatenate(pos), np.concatenate(sub)


def place_discs(
    shape: tuple[int, int],
    n: int,
    radius: float,
    spread: float,
    gap: float,
    rng: np.random.Generator,
    max_tries: int = 2000,
) -> np.ndarray:
    """Place up to ``n`` non-overlapping discs by rejection sampling.

    Radii are ``radius * (1 + spread * u)`` with ``u`` uniform in [-1, 1];
    centres are uniform in ``[r/2, H - r/2] x [r/2, W - r/2]``; two discs keep
    at least ``gap`` between their edges. Fewer than ``n`` discs are returned
    if ``max_tries`` draws do not fit them.

    Returns
    -------
    ndarray, shape (m, 3)
        ``(row, col, radius)`` of each disc, pixels.
    """
    h, w = shape
    discs: list[tuple[float, float, float]] = []
    for _ in range(max_tries):
        if len(discs) >= n:
            break
        r = radius * (1.0 + spread * rng.uniform(-1.0, 1.0))
        cy = rng.uniform(r / 2, max(r / 2, h - r / 2))
        cx = rng.uniform(r / 2, max(r / 2, w - r / 2))
        if all(np.hypot(cy - y, cx - x) >= r + q + gap for y, x, q in discs):
            discs.append((cy, cx, r))
    return np.array(discs, dtype=float).reshape(-1, 3)


def disc_signed_distance(shape: tuple[int, int], discs: np.ndarray) -> np.ndarray:
    r"""Signed distance from every pixel centre to the nearest disc edge, pixels.

    .. math:: s(p) = \min_k \left(\lVert p - c_k \rVert - r_k\right)

    negative inside a disc, positive outside; for non-overlapping discs
    :math:`|s|` is exactly the distance to the nearest disc edge.

    Returns
    -------
    ndarray, shape (H, W)
        ``+inf`` everywhere when there are no discs.
    """
    h, w = shape
    rr, cc = np.mgrid[0:h, 0:w].astype(float)
    out = np.full((h, w), np.inf)
    for cy, cx, r in discs:
        np.minimum(out, np.hypot(rr - cy, cc - cx) - r, out=out)
    return out


def render_columns(
    shape: tuple[int, int], positions: np.ndarray, weights: np.ndarray, sigma: float
) -> np.ndarray:
    r"""Sum of isotropic Gaussians centred on columns, evaluated at pixel centres.

    .. math:: I(p) = \sum_j w_j \exp\!\left(-\frac{\lVert p - p_j\rVert^2}{2\sigma^2}\right)

    each Gaussian truncated at :math:`5\sigma` (relative error < 4e-6).

    Parameters
    ----------
    shape : (int, int)
    positions : ndarray, shape (n, 2)
        Column positions ``(row, col)``, pixels.
    weights : ndarray, shape (n,)
    sigma : float
        Gaussian width, pixels.

    Returns
    -------
    ndarray, shape (H, W)
    """
    h, w = shape
    rad = int(np.ceil(5.0 * sigma))
    off = np.arange(-rad, rad + 1)
    base = np.rint(positions).astype(int)
    pr = base[:, 0, None, None] + off[None, :, None]  # (n, m, 1)
    pc = base[:, 1, None, None] + off[None, None, :]  # (n, 1, m)
    g = np.exp(-((pr - positions[:, 0, None, None]) ** 2) / (2 * sigma**2)) * np.exp(
        -((pc - positions[:, 1, None, None]) ** 2) / (2 * sigma**2)
    )
    vals = weights[:, None, None] * g
    pr, pc = np.broadcast_to(pr, vals.shape), np.broadcast_to(pc, vals.shape)
    ok = (pr >= 0) & (pr < h) & (pc >= 0) & (pc < w)
    flat = np.bincount((pr[ok] * w + pc[ok]), weights=vals[ok], minlength=h * w)
    return flat.reshape(h, w)


def local_average(
    shape: tuple[int, int], positions: np.ndarray, values: np.ndarray, length: float
) -> np.ndarray:
    r"""Gaussian-weighted average of a column property at every pixel.

    .. math:: \bar v(p) = \frac{\sum_j v_j\, g_j(p)}{\sum_j g_j(p)},\quad
              g_j(p) = \exp\!\left(-\frac{\lVert p - p_j\rVert^2}{2\ell^2}\right)

    Parameters
    ----------
    shape : (int, int)
    positions : ndarray, shape (n, 2)
        Column positions, pixels.
    values : ndarray, shape (n,)
    length : float
        Averaging length :math:`\ell`, pixels.

    Returns
    -------
    ndarray, shape (H, W)
        0 where no column lies within :math:`5\ell`.
    """
    num = render_columns(shape, positions, values, length)
    den = render_columns(shape, positions, np.ones(len(positions)), length)
    return np.divide(num, den, out=np.zeros(shape), where=den > 1e-12)


def haadf_noise(
    clean: np.ndarray, dose: float, scan_noise: float, rng: np.random.Generator
) -> np.ndarray:
    r"""Add counting and scan-line noise to a noise-free HAADF image.

    .. math:: I_{rc} = \mathrm{Poisson}(D\, \hat I_{rc}) + \epsilon_r,
              \quad \epsilon_r \sim \mathcal N(0, (\eta D)^2)

    with :math:`\hat I` the noise-free image (1 at a host column), :math:`D`
    the dose (expected counts at a host column) and :math:`\eta` the relative
    scan-line offset noise (one offset per scan line ``r``).

    Returns
    -------
    ndarray, shape (H, W)
        Counts (float).
    """
    counts = rng.poisson(dose * np.clip(clean, 0.0, None)).astype(float)
    return counts + rng.normal(0.0, scan_noise * dose, size=(clean.shape[0], 1))
