"""Features: image patches around candidate pixels, and their normalisation.

The recommender's candidate set is every pixel whose square patch fits inside the
image (optionally on a coarser, strided grid). A patch of size ``p`` *centred* at
``(r, c)`` covers rows ``r - p//2 .. r - p//2 + p - 1`` and the same for columns,
so for even ``p`` the centre is the lower-right of the four middle pixels. The
patch fits when ``p//2 <= r <= H - (p - p//2)`` (both ends inclusive) and the same
for ``c`` with ``W``; with ``stride = s`` the candidate rows are
``p//2, p//2 + s, ...`` up to that bound. A 64 x 64 image with ``p = 16`` has
rows 8..56, i.e. 49 x 49 = 2,401 candidates.

numpy only (no torch): patches are views from
:func:`numpy.lib.stride_tricks.sliding_window_view`, gathered at the candidates.

Examples
--------
>>> import numpy as np
>>> from autoscope.features import extract_patches
>>> image = np.arange(36.0).reshape(6, 6)
>>> patches, centres = extract_patches(image, patch_size=4, normalize=None)
>>> patches.shape, centres.shape
((9, 4, 4), (9, 2))
>>> centres[0].tolist(), centres[-1].tolist()
([2, 2], [4, 4])
>>> patches[0, 0].tolist()  # rows 0..3 of the image, first row
[0.0, 1.0, 2.0, 3.0]
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autoscope.errors import InputDataError

__all__ = [
    "candidate_grid",
    "check_image",
    "extract_patches",
    "normalize_image",
    "standardize_features",
]

_NORMALIZE = (None, "image", "patch")


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate a structural image and return it as a float64 array.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Any real dtype; ``C`` channels (e.g. PFM amplitude, phase, topography).

    Returns
    -------
    ndarray, shape (H, W) or (H, W, C), float64

    Raises
    ------
    InputDataError
        Wrong number of dimensions, an empty axis, a non-real dtype, or NaN/inf pixels.
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3):
        raise InputDataError(f"image must have shape (H, W) or (H, W, C), got shape {arr.shape}")
    if min(arr.shape) == 0:
        raise InputDataError(f"image must not be empty, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputDataError(f"image must be real-valued, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        raise InputDataError(
            f"image must be finite, got {int(bad.sum())} NaN/inf value(s), first at {where}"
        )
    return arr


def candidate_grid(shape: tuple[int, int], patch_size: int, stride: int = 1) -> np.ndarray:
    """Return the centres of all patches that fit in an image of ``shape``.

    Parameters
    ----------
    shape : (int, int)
        Image height ``H`` and width ``W`` in pixels.
    patch_size : int
        Patch side ``p`` in pixels (``1 <= p <= min(H, W)``).
    stride : int
        Spacing of the candidate grid in pixels (>= 1).

    Returns
    -------
    ndarray, shape (N, 2), int64
        ``(row, col)`` of each centre, rows varying slowest: rows
        ``p//2, p//2 + stride, ... <= H - (p - p//2)``, likewise columns.

    Raises
    ------
    InputDataError
        Bad ``patch_size`` or ``stride``.
    """
    h, w = (int(s) for s in shape[:2])
    p, s = _check_patch_stride(patch_size, stride, (h, w))
    rows = np.arange(p // 2, h - (p - p // 2) + 1, s)
    cols = np.arange(p // 2, w - (p - p // 2) + 1, s)
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    return np.stack([rr.ravel(), cc.ravel()], axis=1).astype(np.int64)


def normalize_image(image: np.ndarray) -> np.ndarray:
    r"""Standardise each channel of an image to zero mean and unit variance.

    :math:`\tilde I_c = (I_c - \bar I_c) / s_c` with :math:`\bar I_c`, :math:`s_c`
    the mean and standard deviation of channel ``c`` over all pixels (``s_c = 1``
    for a constant channel).

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)

    Returns
    -------
    ndarray, same shape, float64
    """
    arr = check_image(image)
    axes = (0, 1)
    mean = arr.mean(axis=axes, keepdims=True)
    std = arr.std(axis=axes, keepdims=True)
    std = np.where(std > 0, std, 1.0)
    return (arr - mean) / std


def extract_patches(
    image: np.ndarray,
    patch_size: int,
    stride: int = 1,
    *,
    normalize: str | None = "image",
    dtype: type | np.dtype = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Cut a square patch around every candidate pixel.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Structural image, any real dtype, finite.
    patch_size : int
        Patch side ``p`` in pixels.
    stride : int
        Spacing of the candidate grid (see :func:`candidate_grid`).
    normalize : {"image", "patch", None}
        ``"image"``: standardise each channel over the whole image first
        (:func:`normalize_image`), so patches keep their relative contrast;
        ``"patch"``: standardise each patch and channel on its own,
        :math:`(P - \bar P)/ s_P`; ``None``: raw values.
    dtype : numpy dtype
        Output dtype (float32 by default, what the models consume).

    Returns
    -------
    patches : ndarray, shape (N, p, p) or (N, p, p, C)
        ``patches[i]`` is centred at ``centres[i]``; channels last, as in the image.
    centres : ndarray, shape (N, 2), int64
        ``(row, col)`` of the patch centres (:func:`candidate_grid`).

    Raises
    ------
    InputDataError
        Bad image (shape, NaN), patch size, stride or ``normalize``.
    """
    if normalize not in _NORMALIZE:
        raise InputDataError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")
    arr = normalize_image(image) if normalize == "image" else check_image(image)
    centres = candidate_grid(arr.shape[:2], patch_size, stride)
    p = int(patch_size)
    window = (p, p) if arr.ndim == 2 else (p, p, arr.shape[2])
    view = sliding_window_view(arr, window)  # (H-p+1, W-p+1, [1,] p, p[, C])
    if arr.ndim == 3:
        view = view[:, :, 0]
    top = centres[:, 0] - p // 2
    left = centres[:, 1] - p // 2
    patches = np.ascontiguousarray(view[top, left], dtype=dtype)
    if normalize == "patch":
        axes = (1, 2)
        mean = patches.mean(axis=axes, keepdims=True)
        std = patches.std(axis=axes, keepdims=True)
        patches = (patches - mean) / np.where(std > 0, std, 1.0)
        patches = patches.astype(dtype, copy=False)
    return patches, centres


def standardize_features(x: np.ndarray, dtype: type | np.dtype = np.float32) -> np.ndarray:
    r"""Standardise arbitrary features over the candidate set.

    Flat features ``(N, D)`` are standardised per column; higher-rank features
    ``(N, p, p[, C])`` per channel (last axis when 4-D, else globally):
    :math:`\tilde x = (x - \bar x) / s` with ``s = 1`` where a feature is constant.

    Parameters
    ----------
    x : ndarray, shape (N, D), (N, p, p) or (N, p, p, C)
        Candidate features (trajectories, spectra of another channel, patches).

    Returns
    -------
    ndarray, same shape, ``dtype``

    Raises
    ------
    InputDataError
        Fewer than 2 dimensions, no candidates, non-real or non-finite values.
    """
    arr = np.asarray(x)
    if arr.ndim < 2 or arr.shape[0] == 0 or min(arr.shape) == 0:
        raise InputDataError(f"features must have shape (N, ...) with N >= 1, got {arr.shape}")
    if arr.ndim > 4:
        raise InputDataError(
            f"features must be (N, D), (N, p, p) or (N, p, p, C), got shape {arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputDataError(f"features must be real-valued, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputDataError("features must be finite, got NaN/inf values")
    axes = (0,) if arr.ndim == 2 else (0, 1, 2)
    mean = arr.mean(axis=axes, keepdims=True)
    std = arr.std(axis=axes, keepdims=True)
    return ((arr - mean) / np.where(std > 0, std, 1.0)).astype(dtype)


def _check_patch_stride(patch_size: int, stride: int, shape: tuple[int, int]) -> tuple[int, int]:
    for name, val in (("patch_size", patch_size), ("stride", stride)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer):
            raise InputDataError(f"{name} must be an int, got {type(val).__name__} {val!r}")
    p, s = int(patch_size), int(stride)
    if p < 1 or p > min(shape):
        raise InputDataError(
            f"patch_size must be between 1 and min(H, W) = {min(shape)}, got {p} "
            f"for an image of shape {shape}"
        )
    if s < 1:
        raise InputDataError(f"stride must be >= 1, got {s}")
    return p, s
