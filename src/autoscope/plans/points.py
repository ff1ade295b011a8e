"""Where to measure without a model: user seed pixels, a raster, objects in the image.

Turn JSON plan arguments and the structural image into candidate ids:
:func:`resolve_seed_points` (user pixels snapped to candidates), :func:`raster_order`
(a serpentine raster), :func:`detect_objects` and :func:`nearest_candidates` (objects
found in the image, strongest first).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["detect_objects", "nearest_candidates", "raster_order", "resolve_seed_points"]


def nearest_candidates(points: Any, candidates: np.ndarray) -> list[int]:
    """Candidate id nearest to each ``(row, col)`` (Euclidean, ties to the lower id)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if pts.size == 0:
        return []
    d2 = ((pts[:, None, :] - candidates[None, :, :]) ** 2).sum(axis=-1)
    return [int(i) for i in np.argmin(d2, axis=1)]


def resolve_seed_points(seed_points: Any, candidates: np.ndarray, image_shape: tuple) -> list[int]:
    """Validate user seed pixels ``[[row, col], ...]`` and snap them to distinct candidate ids.

    Raises
    ------
    ValueError
        Not a non-empty list of integer pairs inside the image, or two pixels on one candidate.
    """
    h, w = image_shape[:2]
    if not isinstance(seed_points, list | tuple) or not seed_points:
        raise InputDataError(
            f"seed_points must be a non-empty list of [row, col], got {seed_points!r}"
        )
    for p in seed_points:
        ok = isinstance(p, list | tuple) and len(p) == 2
        ok = ok and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in p)
        if not ok or not (0 <= p[0] < h and 0 <= p[1] < w):
            raise InputDataError(
                f"each seed point must be [row, col] ints inside {h}x{w}, got {p!r}"
            )
    ids = nearest_candidates(seed_points, candidates)
    if len(set(ids)) != len(ids):
        raise InputDataError(f"seed_points {seed_points} fall on repeated candidates {ids}")
    return ids


def raster_order(candidates: np.ndarray, budget: int, step: int | None = None) -> list[int]:
    """Candidate ids of a serpentine raster over the candidate grid, at most ``budget`` of them.

    With ``step=None`` the raster is ``n_r x n_c <= budget`` rows and columns
    evenly spaced over the candidate rows and columns (aspect kept); with a step
    in pixels, every ``step``-th candidate row and column, cut at ``budget``.
    """
    rows, cols = np.unique(candidates[:, 0]), np.unique(candidates[:, 1])
    if step is None:
        nr = int(min(len(rows), max(1, math.floor(math.sqrt(budget * len(rows) / len(cols))))))
        nc = int(min(len(cols), max(1, budget // nr)))
        rows = rows[np.unique(np.round(np.linspace(0, len(rows) - 1, nr)).astype(int))]
        cols = cols[np.unique(np.round(np.linspace(0, len(cols) - 1, nc)).astype(int))]
    else:
        rows = rows[(rows - rows[0]) % step == 0]
        cols = cols[(cols - cols[0]) % step == 0]
    index = {(int(r), int(c)): i for i, (r, c) in enumerate(candidates)}
    order = []
    for k, r in enumerate(rows):
        for c in cols if k % 2 == 0 else cols[::-1]:
            if (int(r), int(c)) in index:
                order.append(index[int(r), int(c)])
    return order[:budget]


def detect_objects(
    image: np.ndarray,
    detector: str = "log",
    *,
    min_sigma: float = 1.0,
    max_sigma: float = 8.0,
    threshold: float = 0.1,
    min_distance: int = 2,
    invert: bool = False,
) -> np.ndarray:
    r"""Find objects (atom columns, particles, domain walls) in a structural image.

    The first channel, rescaled to [0, 1] (inverted when ``invert``), is searched
    with :func:`skimage.feature.blob_log` (``"log"``; strength = scale-normalised
    Laplacian-of-Gaussian response :math:`-\sigma^2 \nabla^2 G_\sigma * I` at the
    blob) or :func:`skimage.feature.peak_local_max` (``"peaks"``; strength =
    intensity).

    Returns
    -------
    ndarray, shape (n, 3)
        ``(row, col, strength)`` per object, strongest first (n may be 0).
    """
    from scipy.ndimage import gaussian_laplace
    from skimage.feature import blob_log, peak_local_max

    img = np.asarray(image, dtype=float)
    img = img[..., 0] if img.ndim == 3 else img
    span = float(img.max() - img.min())
    img = (img - img.min()) / span if span > 0 else np.zeros_like(img)
    img = 1.0 - img if invert else img
    if detector == "log":
        blobs = blob_log(
            img,
            min_sigma=min_sigma,
            max_sigma=max_sigma,
            num_sigma=8,
            threshold=None,
            threshold_rel=threshold,
        )
        out = []
        for r, c, sig in blobs:
            resp = -(sig**2) * gaussian_laplace(img, sig)[int(r), int(c)]
            out.append((int(r), int(c), float(resp)))
    else:
        coords = peak_local_max(img, min_distance=min_distance, threshold_rel=threshold)
        out = [(int(r), int(c), float(img[r, c])) for r, c in coords]
    out.sort(key=lambda t: (-t[2], t[0], t[1]))
    return np.asarray(out, dtype=float).reshape(-1, 3)
