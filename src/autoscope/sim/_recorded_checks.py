"""Checks of recorded arrays before they become a sample: image, channels, spectra, axis.

:class:`~autoscope.sim.recorded.RecordedSample` calls these when it is built, so that
recorded data that does not fit together fails with a message naming the mismatch
before any plan runs on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["check_image", "check_spectra"]


def _as_array(name: str, value: Any) -> np.ndarray:
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise InputDataError(
            f"{name} must be a numeric array, got {type(value).__name__}"
        ) from None


def check_image(
    image: Any,
    channels: Sequence[str] | None,
    channel_units: Sequence[str] | None,
    noise: Any,
    pixel_size: Any,
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...] | None]:
    """Return the image (H, W) or (H, W, C) as floats, its channel names and units.

    Also checks the sample's measurement ``noise`` (>= 0) and ``pixel_size`` (> 0).

    Raises
    ------
    InputDataError
        Bad image rank, non-finite pixels, channel names or units that do not match
        the C channels, or a bad noise or pixel size.
    """
    img = _as_array("image", image)
    if img.ndim not in (2, 3) or min(img.shape) < 1:
        raise InputDataError(f"image must be (H, W) or (H, W, C), got shape {img.shape}")
    if not np.all(np.isfinite(img)):
        raise InputDataError(
            f"image has {int(np.sum(~np.isfinite(img)))} non-finite values; fill or crop them"
        )
    n_ch = 1 if img.ndim == 2 else img.shape[2]
    if channels is None:
        channels = ("image",) if img.ndim == 2 else tuple(f"channel_{i}" for i in range(n_ch))
    channels = tuple(str(c) for c in channels)
    if len(channels) != n_ch:
        raise InputDataError(f"image has {n_ch} channel(s) but {len(channels)} names: {channels}")
    if channel_units is not None:
        channel_units = tuple(str(u) for u in channel_units)
        if len(channel_units) != n_ch:
            raise InputDataError(
                f"image has {n_ch} channel(s) but {len(channel_units)} channel units"
            )
    for name, v in (("noise", noise), ("pixel_size", pixel_size)):
        if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not np.isfinite(v):
            raise InputDataError(f"{name} must be a finite number, got {v!r}")
    if noise < 0 or pixel_size <= 0:
        raise InputDataError(f"need noise >= 0 and pixel_size > 0, got {noise!r}, {pixel_size!r}")
    return img, channels, channel_units


def check_spectra(grid: tuple[int, ...], spectra: Any, axis: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return read-only ``spectra`` (H, W, L) or (H, W, K, K) and ``axis`` (L,) or (K,).

    Raises
    ------
    InputDataError
        Spectra not on the image ``grid`` (H, W), infinite values, non-square patterns,
        a missing, non-finite or too short axis, or a spectrum length that is not the axis's.
    """
    spec = _as_array("spectra", spectra)
    if spec.ndim not in (3, 4):
        raise InputDataError(f"spectra must be (H, W, L) or (H, W, K, K), got shape {spec.shape}")
    if spec.shape[:2] != tuple(grid):
        raise InputDataError(
            f"spectra grid {spec.shape[:2]} does not match image grid {tuple(grid)}"
        )
    if spec.ndim == 4 and spec.shape[2] != spec.shape[3]:
        raise InputDataError(f"diffraction patterns must be square K x K, got {spec.shape[2:]}")
    if np.isinf(spec).any():
        raise InputDataError(f"spectra have {int(np.isinf(spec).sum())} infinite values")
    if axis is None:
        raise InputDataError("spectra given without an axis")
    ax = _as_array("axis", axis)
    if ax.ndim != 1 or ax.size < 2 or not np.all(np.isfinite(ax)):
        raise InputDataError(f"axis must be 1-D, finite, >= 2 points, got shape {ax.shape}")
    if ax.size != spec.shape[-1]:
        raise InputDataError(
            f"spectrum length {spec.shape[-1]} does not match axis length {ax.size}"
        )
    spec.setflags(write=False)
    ax.setflags(write=False)
    return spec, ax
