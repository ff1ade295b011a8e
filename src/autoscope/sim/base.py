"""The common machinery of every simulated (or recorded) sample.

A sample is a specimen with a structural image and a spectrum at every pixel.
Subclasses compute noise-free spectra for many pixels at once
(:meth:`BaseSample._spectra_at`) and add measurement noise
(:meth:`BaseSample._add_noise`); this base class supplies bounds checks, the
``measure``/``spectrum``/``truth`` contract (``autoscope.protocols.Sample``), chunked whole-grid
evaluation and a JSON description for run metadata.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from autoscope import scalarizers
from autoscope.errors import InputDataError

__all__ = ["BaseSample", "check_shape", "check_finite_params"]


def check_shape(shape: Any, minimum: int = 8) -> tuple[int, int]:
    """Validate a ``(H, W)`` grid shape and return it as a tuple of ints.

    Raises
    ------
    ValueError
        If ``shape`` is not two positive integers ≥ ``minimum``.
    """
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputDataError(f"shape must be (H, W) integers, got {shape!r}") from None
    if (h, w) != tuple(shape) or h < minimum or w < minimum:
        raise InputDataError(f"shape must be (H, W) integers >= {minimum}, got {shape!r}")
    return h, w


def check_finite_params(**params: float) -> None:
    """Raise ``ValueError`` naming any parameter that is not a finite number."""
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not np.isfinite(v):
            raise InputDataError(f"parameter {k!r} must be a finite number, got {v!r}")


class BaseSample:
    """A specimen with a structural image and a spectrum at every pixel.

    Subclasses set the attributes below in ``__init__`` and implement
    :meth:`_spectra_at` and :meth:`_add_noise`.

    Attributes
    ----------
    kind : str
        Sample kind (``"stem"``, ``"spm"``, ``"fourd"``, ``"replay"``).
    image : ndarray, shape (H, W) or (H, W, C)
        The structural image (float).
    channels : tuple of str
        Names of the image channels (length C, or 1 for a 2-D image).
    image_units : str
        Units of the image values.
    axis : ndarray, shape (L,)
        The spectral axis.
    axis_name, axis_units : str
        What the axis is and its units (e.g. ``"energy loss"``, ``"eV"``).
    spectrum_units : str
        Units of spectrum values.
    pixel_size : float
        Scan step in ``pixel_units``.
    pixel_units : str
    seed : int or None
    """

    kind: str = "base"
    image: np.ndarray
    channels: tuple[str, ...] = ("image",)
    image_units: str = "a.u."
    axis: np.ndarray
    axis_name: str = "channel"
    axis_units: str = ""
    spectrum_units: str = "a.u."
    pixel_size: float = 1.0
    pixel_units: str = "px"
    seed: int | None = None
    #: the spec of the property this sample is built to show (set by subclasses)
    default_scalarizer: dict[str, Any] | None
    #: pixels per chunk for whole-grid evaluation (bounded memory)
    chunk_pixels: int = 4096

    # -- to implement -----------------------------------------------------------------
    def _spectra_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Noise-free spectra at pixels, shape (n, *spectrum_shape)."""
        raise NotImplementedError

    def _add_noise(self, spectrum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return a noisy copy of a noise-free spectrum."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """JSON-serialisable parameters that, with ``kind`` and ``seed``, rebuild the sample."""
        return {}

    # -- contract ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(H, W)``."""
        return int(self.image.shape[0]), int(self.image.shape[1])

    @property
    def spectrum_shape(self) -> tuple[int, ...]:
        """Shape of one spectrum: ``(L,)``, or ``(K, K)`` for diffraction patterns."""
        return tuple(self._spectra_at(np.array([0]), np.array([0])).shape[1:])

    def _check_pixel(self, row: Any, col: Any) -> tuple[int, int]:
        h, w = self.shape
        try:
            r, c = int(row), int(col)
        except (TypeError, ValueError):
            raise InputDataError(
                f"pixel must be integers (row, col), got ({row!r}, {col!r})"
            ) from None
        if r != row or c != col:
            raise InputDataError(f"pixel must be integers (row, col), got ({row!r}, {col!r})")
        if not (0 <= r < h and 0 <= c < w):
            raise InputDataError(f"pixel ({r}, {c}) is outside the {h}x{w} grid")
        return r, c

    def spectrum(self, row: int, col: int) -> np.ndarray:
        """Return the noise-free spectrum at pixel ``(row, col)``.

        Raises
        ------
        ValueError
            If the pixel is outside the grid.
        """
        r, c = self._check_pixel(row, col)
        return self._spectra_at(np.array([r]), np.array([c]))[0]

    def measure(self, row: int, col: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Return a noisy spectrum at pixel ``(row, col)``.

        Parameters
        ----------
        row, col : int
            Pixel indices.
        rng : numpy.random.Generator, optional
            Source of noise; a fresh default generator when omitted.
        """
        spec = self.spectrum(row, col)
        return self._add_noise(spec, rng if rng is not None else np.random.default_rng())

    def spectra(self, rows: Any = None, cols: Any = None) -> np.ndarray:
        """Noise-free spectra at many pixels (all pixels, row-major, by default).

        Returns
        -------
        ndarray, shape ``(n, *spectrum_shape)``
        """
        h, w = self.shape
        if rows is None and cols is None:
            rr, cc = np.divmod(np.arange(h * w), w)
        else:
            rr, cc = np.asarray(rows, dtype=int).ravel(), np.asarray(cols, dtype=int).ravel()
            if rr.shape != cc.shape:
                raise InputDataError(f"rows and cols differ in length: {rr.shape} vs {cc.shape}")
            if rr.size and (rr.min() < 0 or cc.min() < 0 or rr.max() >= h or cc.max() >= w):
                raise InputDataError(f"pixels outside the {h}x{w} grid")
        parts = [
            self._spectra_at(rr[i : i + self.chunk_pixels], cc[i : i + self.chunk_pixels])
            for i in range(0, rr.size, self.chunk_pixels)
        ]
        if not parts:
            return np.empty((0, *self.spectrum_shape))
        return np.concatenate(parts, axis=0)

    def truth(self, scalarizer_spec: Any) -> np.ndarray:
        """Apply a scalarizer to the noise-free spectrum at every pixel.

        Parameters
        ----------
        scalarizer_spec : str, dict or Scalarizer
            A scalarizer name, ``{"name", "params"}`` spec, or object.

        Returns
        -------
        ndarray, shape (H, W)
        """
        sc = scalarizers.from_spec(scalarizer_spec)
        sc.validate(self.axis, self.spectrum_shape)
        key = json.dumps(sc.spec, sort_keys=True)
        cache = self.__dict__.setdefault("_truth_cache", {})
        if key not in cache:
            h, w = self.shape
            rr, cc = np.divmod(np.arange(h * w), w)
            out = np.empty(h * w)
            for i in range(0, h * w, self.chunk_pixels):
                block = self._spectra_at(
                    rr[i : i + self.chunk_pixels], cc[i : i + self.chunk_pixels]
                )
                out[i : i + block.shape[0]] = sc.apply(block, self.axis)
            cache[key] = out.reshape(h, w)
        return cache[key].copy()

    def describe(self) -> dict[str, Any]:
        """Return a JSON-serialisable description for run metadata (start document)."""
        return {
            "kind": self.kind,
            "seed": self.seed,
            "shape": list(self.shape),
            "channels": list(self.channels),
            "image_units": self.image_units,
            "axis_name": self.axis_name,
            "axis_units": self.axis_units,
            "spectrum_units": self.spectrum_units,
            "spectrum_shape": list(self.spectrum_shape),
            "pixel_size": float(self.pixel_size),
            "pixel_units": self.pixel_units,
            "params": self.params(),
        }

    def __repr__(self) -> str:
        h, w = self.shape
        return f"<{type(self).__name__} kind={self.kind!r} {h}x{w} seed={self.seed}>"
