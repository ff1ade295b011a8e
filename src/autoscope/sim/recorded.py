"""A sample made of recorded arrays: a structural image plus a grid of spectra and its axis.

:class:`RecordedSample` plays back real (or previously simulated) data through the
sample contract (``autoscope.protocols.Sample``), so the same plans, devices and benchmarks run
on it: ``measure`` returns the recorded spectrum (plus optional Gaussian noise),
``truth`` applies a scalarizer to every recorded spectrum. Loaders read ``.npz``
files and the two real PbTiO3 files that ship with autoscope (``autoscope/sim/data/``).

Formerly ``autoscope.sim.replay.ReplaySample``, which still works (an alias); "replay"
now means only the analysis of stored runs (:mod:`autoscope.replay`).

Data licence: ``BEPS_PTO_50x50.h5`` and ``PTO_Funakubo0001.h5`` come from the
public repository pycroscopy/DTMicroscope (commit 17245ba6df42) under the MIT
License; keep its notice with any copy and cite the repository when results use
them.

Examples
--------
>>> import numpy as np
>>> from autoscope.sim.replay import RecordedSample
>>> s = RecordedSample(np.zeros((4, 5)), np.ones((4, 5, 3)), np.arange(3.0), "eV")
>>> s.shape, s.spectrum(1, 2).tolist()
((4, 5), [1.0, 1.0, 1.0])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from autoscope.errors import InputDataError
from autoscope.sim._datafiles import (
    BEPS_FILE,
    PFM_FILE,
    data_label,
    data_path,
    despike,
    read_beps,
    read_pfm,
    shipped_data_dir,
)
from autoscope.sim._recorded_checks import check_image, check_spectra
from autoscope.sim.base import BaseSample

__all__ = ["BEPS_FILE", "PFM_FILE", "RecordedSample", "data_path", "despike", "shipped_data_dir"]
_META_STR = ("axis_units", "axis_name", "spectrum_units", "image_units", "pixel_units")


class RecordedSample(BaseSample):
    """Recorded arrays (image H×W[×C], spectra H×W×L or H×W×K×K, axis) as a sample.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Structural image; must be finite.
    spectra : array_like, shape (H, W, L) or (H, W, K, K), or None
        One spectrum (or diffraction pattern) per pixel; ``None`` for an
        image-only sample (``measure``/``spectrum``/``truth`` then raise).
        NaN marks missing data: a pixel with any NaN is not :attr:`valid`,
        its spectrum is returned as recorded (with the NaNs) and ``truth`` is
        NaN there. Infinite values are rejected.
    axis : array_like, shape (L,) or (K,), or None
        Spectral axis (finite, >= 2 points; may be non-monotonic, e.g. a bias waveform).
    axis_units : str
    channels : sequence of str, optional
        Names of the C image channels (default ``("image",)`` or ``channel_0..``).
    pixel_size : float
        Scan step in ``pixel_units``.
    pixel_units : str
    noise : float
        Standard deviation of the Gaussian noise ``measure`` adds (spectrum units).
    axis_name, spectrum_units, image_units : str
    channel_units : sequence of str, optional
        Units of each image channel.
    default_scalarizer : dict, optional
        The scalarizer spec the data suits; default: ``band_integral`` over the
        whole axis for spectra, ``com_magnitude`` for patterns, None without spectra.
    source : dict, optional
        JSON description of where the arrays came from (kept in ``params()``).

    Raises
    ------
    InputDataError
        Naming the mismatch: image rank, spectra grid vs image grid, spectrum
        length vs axis length, non-finite image/axis, bad noise or pixel size.
    """

    kind = "replay"  # the label stored runs carry (kept so that older runs still read)

    def __init__(
        self,
        image: Any,
        spectra: Any = None,
        axis: Any = None,
        axis_units: str = "",
        *,
        channels: Sequence[str] | None = None,
        pixel_size: float = 1.0,
        pixel_units: str = "px",
        noise: float = 0.0,
        axis_name: str = "axis",
        spectrum_units: str = "a.u.",
        image_units: str = "a.u.",
        channel_units: Sequence[str] | None = None,
        default_scalarizer: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
    ):
        img, channels, channel_units = check_image(
            image, channels, channel_units, noise, pixel_size
        )

        if spectra is None:
            if axis is not None:
                raise InputDataError("axis given without spectra")
            spec, ax = None, np.empty(0)
        else:
            spec, ax = check_spectra(img.shape[:2], spectra, axis)

        img.setflags(write=False)
        self.image = img
        self._spectra = spec
        self.axis = ax
        self.channels = channels
        self.channel_units = channel_units
        self.axis_units = str(axis_units)
        self.axis_name = str(axis_name)
        self.spectrum_units = str(spectrum_units)
        self.image_units = str(image_units)
        self.pixel_size = float(pixel_size)
        self.pixel_units = str(pixel_units)
        self.noise = float(noise)
        self.seed = None
        self.source = dict(source) if source else None
        if spec is None:
            self.valid = np.zeros(img.shape[:2], bool)
        else:
            self.valid = ~np.isnan(spec).reshape(*img.shape[:2], -1).any(axis=-1)
        self.valid.setflags(write=False)
        if default_scalarizer is None and spec is not None:
            if spec.ndim == 3:
                lo, hi = float(np.min(ax)), float(np.max(ax))
                default_scalarizer = {"name": "band_integral", "params": {"low": lo, "high": hi}}
            else:
                default_scalarizer = {"name": "com_magnitude", "params": {}}
        self.default_scalarizer = default_scalarizer

    # -- BaseSample -------------------------------------------------------------------
    @property
    def has_spectra(self) -> bool:
        """Whether the sample holds spectra (False for an image-only sample)."""
        return self._spectra is not None

    @property
    def spectrum_shape(self) -> tuple[int, ...]:
        """Shape of one spectrum, ``()`` for an image-only sample."""
        return () if self._spectra is None else tuple(self._spectra.shape[2:])

    def _require_spectra(self) -> np.ndarray:
        if self._spectra is None:
            raise InputDataError(
                "this replay sample holds a structural image only (e.g. from_pfm); "
                "it has no spectra to measure or to build a truth map from"
            )
        return self._spectra

    def _spectra_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self._require_spectra()[rows, cols].copy()

    def _add_noise(self, spectrum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.noise == 0.0:
            return spectrum.copy()
        return spectrum + self.noise * rng.standard_normal(spectrum.shape)

    def truth(self, scalarizer_spec: Any) -> np.ndarray:
        """Apply a scalarizer to every recorded spectrum; NaN where the spectrum is missing.

        Returns
        -------
        ndarray, shape (H, W)

        Raises
        ------
        InputDataError
            For an image-only sample, or a scalarizer that does not fit the axis.
        """
        self._require_spectra()
        out = super().truth(scalarizer_spec)
        out[~self.valid] = np.nan
        return out

    def params(self) -> dict[str, Any]:
        """JSON description: where the data came from and the measurement noise."""
        return {"source": self.source, "noise": self.noise}

    # -- files ------------------------------------------------------------------------
    def save_npz(self, path: str | os.PathLike) -> None:
        """Write the sample to ``path`` (``.npz``, readable by :meth:`from_npz`)."""
        arrays: dict[str, Any] = {"image": self.image, "channels": np.array(self.channels)}
        if self._spectra is not None:
            arrays.update(spectra=self._spectra, axis=self.axis)
        for k in _META_STR:
            arrays[k] = np.array(getattr(self, k))
        if self.channel_units is not None:
            arrays["channel_units"] = np.array(self.channel_units)
        arrays.update(pixel_size=np.array(self.pixel_size), noise=np.array(self.noise))
        np.savez(path, **arrays)

    @classmethod
    def from_npz(cls, path: str | os.PathLike, **overrides: Any) -> RecordedSample:
        """Load a sample from an ``.npz`` file.

        Keys: ``image`` (required), ``spectra`` and ``axis`` (together, or
        neither for an image-only sample); optional ``axis_units``,
        ``axis_name``, ``spectrum_units``, ``image_units``, ``pixel_units``,
        ``pixel_size``, ``noise``, ``channels``, ``channel_units``. Keyword
        ``overrides`` win over the file.

        Raises
        ------
        FileNotFoundError
            If the file does not exist.
        InputDataError
            If a required key is missing or the arrays do not fit together.
        """
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if "image" not in keys:
                raise InputDataError(f"{path}: npz has no 'image' array (keys: {sorted(keys)})")
            if ("spectra" in keys) != ("axis" in keys):
                raise InputDataError(
                    f"{path}: npz needs both 'spectra' and 'axis' (keys: {sorted(keys)})"
                )
            kw: dict[str, Any] = {k: str(z[k][()]) for k in _META_STR if k in keys}
            for k in ("pixel_size", "noise"):
                if k in keys:
                    kw[k] = float(z[k][()])
            for k in ("channels", "channel_units"):
                if k in keys:
                    kw[k] = tuple(str(c) for c in np.atleast_1d(z[k]))
            image = z["image"]
            spectra = z["spectra"] if "spectra" in keys else None
            axis = z["axis"] if "axis" in keys else None
        kw.setdefault("source", {"loader": "from_npz", "path": str(path)})
        kw.update(overrides)
        return cls(image, spectra, axis, **kw)

    @classmethod
    def from_beps(
        cls,
        path: str | os.PathLike | None = None,
        *,
        despike_threshold: float | None = None,
        noise: float = 0.0,
    ) -> RecordedSample:
        """Load the 50×50×64 PbTiO3 BEPS loop grid (``BEPS_PTO_50x50.h5``).

        Spectra: ``Channel_000/generic/generic`` (piezoresponse, a.u.) in the
        file's order, so ``spectra[i, j]`` is the file's ``[i, j]`` (row = the
        file's first dimension, labelled X; col = Y). Axis: the DC bias
        ``Voltage``, a triangle 0 → 8.5 → −8.5 → 0 V. Pixel size from ``X``, nm.

        The grid has no separate image, so a two-channel structural image is
        derived from the loops themselves:

        - ``amplitude`` = median over the waveform of the response magnitude
          ``|y|``: like a PFM amplitude image it maps the local piezoresponse
          strength (domains, walls, the strongly responding corners), and the
          median ignores the single-point spikes of the raw data;
        - ``phase`` = 180° where the loop's median response is negative, else 0°:
          the sign of the net (non-switching) polarisation, a PFM-phase-like map.

        Because this image is a summary of the spectra, a structure → property
        model learns more easily here than on a real experiment; use an
        independent image (e.g. :meth:`from_pfm` of the same film) where that matters.

        Parameters
        ----------
        path : path-like, optional
            The file; default: found by :func:`data_path` (the copy shipped
            with autoscope unless ``$AUTOSCOPE_DATA`` points elsewhere).
        despike_threshold : float, optional
            If given, replace single-point spikes (:func:`despike`) before use.
        noise : float
            Gaussian noise that ``measure`` adds, a.u.

        Raises
        ------
        FileNotFoundError
            If the file cannot be found.
        """
        p = data_path(BEPS_FILE, path)
        spectra, axis, pixel_size = read_beps(p)
        n_spikes = 0
        if despike_threshold is not None:
            spectra, n_spikes = despike(spectra, despike_threshold)
        amplitude = np.median(np.abs(spectra), axis=-1)
        phase = np.where(np.median(spectra, axis=-1) < 0, 180.0, 0.0)
        return cls(
            np.stack([amplitude, phase], axis=-1),
            spectra,
            axis,
            "V",
            channels=("amplitude", "phase"),
            channel_units=("a.u.", "deg"),
            image_units="a.u., deg",
            pixel_size=pixel_size,
            pixel_units="nm",
            noise=noise,
            axis_name="DC bias",
            spectrum_units="a.u.",
            default_scalarizer={"name": "loop_area", "params": {}},
            source={
                "loader": "from_beps",
                "path": data_label(p),
                "despike_threshold": despike_threshold,
                "n_despiked": n_spikes,
            },
        )

    @classmethod
    def from_pfm(cls, path: str | os.PathLike | None = None) -> RecordedSample:
        """Load the 256×256 PbTiO3 PFM scan (``PTO_Funakubo0001.h5``) as an image-only sample.

        Channels ``("amplitude", "phase", "topography")`` (as in
        :class:`~autoscope.sim.spm.SPMSample`): AmplitudeRetrace in pm,
        PhaseRetrace in degrees, HeightRetrace in nm with its best-fit plane
        removed; arrays in the file's order. The scan has no spectra: ``measure``,
        ``spectrum`` and ``truth`` raise :class:`InputDataError`; use the image
        for structure-only work (features, patches) or pair it with spectra.

        Raises
        ------
        FileNotFoundError
            If the file cannot be found.
        InputDataError
            If a channel is missing from the file.
        """
        p = data_path(PFM_FILE, path)
        image, pixel_size = read_pfm(p)
        return cls(
            image,
            channels=("amplitude", "phase", "topography"),
            channel_units=("pm", "deg", "nm"),
            image_units="pm, deg, nm",
            pixel_size=1.0 if pixel_size is None else pixel_size,
            pixel_units="px" if pixel_size is None else "nm",
            source={"loader": "from_pfm", "path": data_label(p)},
        )
