r"""Model-free choices: random seed points and max-min-distance (space-filling) exploration.

Used for the seed points before a model can be trained, and as the last fallback
when no model can be fitted: pick the available candidate farthest from every
measured (or already picked) point, :math:`\arg\max_i \min_j \lVert x_i - x_j\rVert`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["maxmin_pick", "random_pick"]


def random_pick(available: np.ndarray, q: int, rng: np.random.Generator) -> list[int]:
    """Return ``min(q, #available)`` distinct available indices, uniformly at random."""
    idx = np.flatnonzero(available)
    k = min(q, idx.size)
    return [int(i) for i in rng.choice(idx, size=k, replace=False)] if k else []


def maxmin_pick(
    points: np.ndarray,
    measured: np.ndarray,
    available: np.ndarray,
    q: int,
    rng: np.random.Generator,
) -> list[int]:
    """Greedy farthest-point selection.

    Parameters
    ----------
    points : ndarray, shape (N, D)
        Where the candidates are (pixel coordinates or flattened features).
    measured : ndarray of int, shape (n,)
        Indices already measured (their distance counts, they are not picked).
    available : ndarray of bool, shape (N,)
    q : int
    rng : numpy.random.Generator
        Breaks the tie of the very first pick when nothing is measured.

    Returns
    -------
    list of int
        Up to ``q`` distinct available indices.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    avail = np.asarray(available, dtype=bool).copy()
    dmin = np.full(len(pts), np.inf)
    for j in np.unique(np.asarray(measured, dtype=np.int64)):
        dmin = np.minimum(dmin, np.linalg.norm(pts - pts[j], axis=1))
    out: list[int] = []
    for _ in range(q):
        if not avail.any():
            break
        if np.isinf(dmin[avail]).all():
            j = int(rng.choice(np.flatnonzero(avail)))
        else:
            j = int(np.argmax(np.where(avail, dmin, -np.inf)))
        out.append(j)
        avail[j] = False
        dmin = np.minimum(dmin, np.linalg.norm(pts - pts[j], axis=1))
    return out
