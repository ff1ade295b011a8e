r"""Regions of the candidate grid named by a person: boxes, pixels, masks, discs, example patches.

A *region* is a small JSON dict that knowledge-injection interventions (exclude,
include, boost) and direct operation (force) carry, resolved to candidate ids only
when it is applied, against the recommender's own candidates:

=============================================  =============================================
spec                                           candidates selected
=============================================  =============================================
``{"ids": [i, ...]}``                          these candidate ids
``{"rows": [r0, r1], "cols": [c0, c1]}``       centres with ``r0 <= row < r1`` and
                                               ``c0 <= col < c1`` (either key may be left out)
``{"pixels": [[r, c], ...]}``                  centres exactly at these pixels (a bool
                                               ``(H, W)`` mask becomes its ``True`` pixels)
``{"center": [r, c], "radius": R}``            centres within ``R`` px of ``[r, c]``
``{"like": [[r, c], ...], "threshold": t}``    candidates whose patch resembles the patch at
                                               any example pixel: Pearson
                                               :math:`\rho(f_i, f_e) \ge t`, or the ``top``
                                               most similar
``{"patches": [P, ...], "threshold": t}``      the same against example patches ``P``
                                               (shape of one candidate's features)
=============================================  =============================================

With :math:`f_i` a candidate's (flattened) features and :math:`f_e` an example's,
:math:`\rho = \frac{(f_i - \bar f_i)\cdot(f_e - \bar f_e)}{\lVert f_i - \bar f_i\rVert\,
\lVert f_e - \bar f_e\rVert}` is invariant to the patch's offset and contrast, so raw
image patches and normalised features compare alike.

Examples
--------
>>> import numpy as np
>>> from autoscope.steering.regions import normalize_region, resolve_region
>>> cand = np.array([[4, 4], [4, 5], [5, 4], [5, 5]])
>>> resolve_region({"rows": [4, 5]}, cand).tolist()
[0, 1]
>>> normalize_region(mask=np.eye(6, dtype=bool))["pixels"][:2]
[[0, 0], [1, 1]]
>>> resolve_region(normalize_region(mask=np.eye(6, dtype=bool)), cand).tolist()
[0, 3]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["REGION_KEYS", "nearest_ids", "normalize_region", "resolve_region"]

REGION_KEYS = ("ids", "rows", "cols", "pixels", "mask", "center", "radius", "like", "patches")
_EXTRA = ("threshold", "top")


def _int_pair(name: str, value: Any) -> list[int]:
    arr = np.asarray(value)
    if arr.shape != (2,) or arr.dtype.kind not in "iu":
        raise InputDataError(f"region {name!r} must be a pair of ints [start, stop), got {value!r}")
    return [int(arr[0]), int(arr[1])]


def _pixels(name: str, value: Any) -> list[list[int]]:
    arr = np.asarray(value)
    if arr.ndim == 1 and arr.shape == (2,):
        arr = arr[None]
    if arr.size == 0:
        return []
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind not in "iu":
        raise InputDataError(f"region {name!r} must be [[row, col], ...] ints, got {value!r:.80}")
    return arr.astype(int).tolist()


def normalize_region(region: Mapping[str, Any] | None = None, **keys: Any) -> dict[str, Any]:
    """Validate a region (a dict or keywords) and return its JSON form.

    A bool ``mask`` (H, W) is turned into ``pixels`` so that the spec stays JSON.

    Parameters
    ----------
    region : dict, optional
        A region spec (see the module docstring).
    **keys
        The same keys as keywords (``rows=(0, 10)``, ``mask=m``, ``like=[(r, c)]``, ...).

    Returns
    -------
    dict
        The validated region.

    Raises
    ------
    InputDataError
        No selector, unknown keys, or malformed values.
    """
    spec = dict(region or {})
    spec.update({k: v for k, v in keys.items() if v is not None})
    unknown = set(spec) - set(REGION_KEYS) - set(_EXTRA)
    if unknown:
        raise InputDataError(f"unknown region key(s) {sorted(unknown)}; use {list(REGION_KEYS)}")
    out: dict[str, Any] = {}
    if "mask" in spec:
        mask = np.asarray(spec.pop("mask"))
        if mask.dtype != bool or mask.ndim != 2:
            raise InputDataError(f"region 'mask' must be an (H, W) bool array, got {mask.dtype}")
        spec["pixels"] = np.argwhere(mask).tolist() + list(spec.get("pixels") or [])
    if "ids" in spec:
        ids = np.asarray(spec["ids"]).reshape(-1)
        if ids.size and ids.dtype.kind not in "iu":
            raise InputDataError(f"region 'ids' must be ints, got {spec['ids']!r:.80}")
        out["ids"] = [int(i) for i in ids]
    for name in ("rows", "cols"):
        if name in spec:
            out[name] = _int_pair(name, spec[name])
    for name in ("pixels", "like"):
        if name in spec:
            out[name] = _pixels(name, spec[name])
    if ("center" in spec) != ("radius" in spec):
        raise InputDataError("region 'center' and 'radius' go together")
    if "center" in spec:
        out["center"] = _pixels("center", spec["center"])[0]
        radius = spec["radius"]
        if isinstance(radius, bool) or not isinstance(radius, int | float) or not radius >= 0:
            raise InputDataError(f"region 'radius' must be a number >= 0 (px), got {radius!r}")
        out["radius"] = float(radius)
    if "patches" in spec:
        patches = [np.asarray(p, dtype=float) for p in spec["patches"]]
        if not patches or not all(np.isfinite(p).all() and p.size > 1 for p in patches):
            raise InputDataError("region 'patches' must be a non-empty list of finite arrays")
        out["patches"] = [p.tolist() for p in patches]
    if not out:
        raise InputDataError(f"a region needs one of {list(REGION_KEYS)}, got {sorted(spec)}")
    for name in _EXTRA:
        if name in spec:
            if "like" not in out and "patches" not in out:
                raise InputDataError(f"region {name!r} only goes with 'like' or 'patches'")
            out[name] = spec[name]
    if "threshold" in out:
        t = out["threshold"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not -1 <= t <= 1:
            raise InputDataError(f"region 'threshold' must be a correlation in [-1, 1], got {t!r}")
        out["threshold"] = float(t)
    if "top" in out:
        k = out["top"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputDataError(f"region 'top' must be an int >= 1, got {k!r}")
    return out


def nearest_ids(pixels: Any, candidates: np.ndarray) -> list[int]:
    """Candidate id nearest to each ``(row, col)`` pixel (Euclidean, ties to the lower id)."""
    cand = np.asarray(candidates, dtype=float)
    if cand.ndim != 2 or cand.shape[1] != 2:
        raise InputDataError(f"pixels need (N, 2) candidate positions, got shape {cand.shape}")
    out = []
    for r, c in _pixels("pixels", pixels):
        out.append(int(np.argmin(np.hypot(cand[:, 0] - r, cand[:, 1] - c))))
    return out


def _pearson(feats: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Max Pearson correlation of each row of ``feats`` (N, D) with any example (k, D), (N,)."""

    def unit(x: np.ndarray) -> np.ndarray:
        x = x - x.mean(axis=1, keepdims=True)
        n = np.linalg.norm(x, axis=1, keepdims=True)
        return np.divide(x, n, out=np.zeros_like(x), where=n > 0)

    return (unit(feats) @ unit(examples).T).max(axis=1)


def resolve_region(
    region: Mapping[str, Any], candidates: np.ndarray, features: np.ndarray | None = None
) -> np.ndarray:
    """Return the sorted candidate ids a region selects.

    Selectors in one region combine by intersection (``rows`` and ``cols`` make a
    box; ``ids`` with ``rows`` keeps the ids inside the rows).

    Parameters
    ----------
    region : dict
        A region spec (validated again here).
    candidates : ndarray, shape (N, 2)
        Candidate ``(row, col)`` pixels.
    features : ndarray, shape (N, ...), optional
        Candidate features (patches), needed by ``like`` and ``patches``.

    Returns
    -------
    ndarray of int, shape (k,)

    Raises
    ------
    InputDataError
        Bad region, an id out of range, or ``like``/``patches`` without features or
        with patches of another shape.
    """
    spec = normalize_region(region)
    cand = np.asarray(candidates)
    n = len(cand)
    keep = np.ones(n, dtype=bool)
    if "ids" in spec:
        ids = np.asarray(spec["ids"], dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise InputDataError(f"region ids must lie in [0, {n}), got {ids.min()}..{ids.max()}")
        sel = np.zeros(n, dtype=bool)
        sel[ids] = True
        keep &= sel
    if {"rows", "cols", "pixels", "center"} & set(spec) and (cand.ndim != 2 or cand.shape[1] != 2):
        raise InputDataError("rows/cols/pixels/center regions need (N, 2) candidate positions")
    for axis, name in ((0, "rows"), (1, "cols")):
        if name in spec:
            lo, hi = spec[name]
            keep &= (cand[:, axis] >= lo) & (cand[:, axis] < hi)
    if "pixels" in spec:
        pix = {tuple(p) for p in spec["pixels"]}
        keep &= np.array([(int(r), int(c)) in pix for r, c in cand], dtype=bool)
    if "center" in spec:
        r0, c0 = spec["center"]
        keep &= np.hypot(cand[:, 0] - r0, cand[:, 1] - c0) <= spec["radius"]
    if "like" in spec or "patches" in spec:
        if features is None:
            raise InputDataError("'like'/'patches' regions need the recommender's features")
        feats = np.asarray(features, dtype=float).reshape(n, -1)
        examples = []
        if "like" in spec:
            examples += [feats[i] for i in nearest_ids(spec["like"], cand)]
        for p in spec.get("patches", []):
            p = np.asarray(p, dtype=float).reshape(-1)
            if p.size != feats.shape[1]:
                shape = np.asarray(features).shape[1:]
                raise InputDataError(f"example patch has {p.size} values, features are {shape}")
            examples.append(p)
        rho = _pearson(feats, np.stack(examples))
        if "top" in spec:
            sel = np.zeros(n, dtype=bool)
            sel[np.argsort(-rho, kind="stable")[: spec["top"]]] = True
        else:
            sel = rho >= spec.get("threshold", 0.8)
        keep &= sel
    return np.flatnonzero(keep)
