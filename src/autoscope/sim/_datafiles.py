"""Locating and reading the real PbTiO3 data shipped with autoscope (pycroscopy/DTMicroscope, MIT).

``BEPS_PTO_50x50.h5`` (a 50×50 grid of 64-point piezoresponse loops) and
``PTO_Funakubo0001.h5`` (a 256×256 PFM scan) ship as package data in
``autoscope/sim/data/`` together with their MIT licence (``LICENSE``) and a
``README.md`` giving their origin (pycroscopy/DTMicroscope, commit
17245ba6df42) and SHA-256 sums. They were written with sidpy/pyNSID; ``h5py``
reads them directly. Keep the licence notice with any copy and cite the
repository when results use them. :class:`autoscope.sim.recorded.RecordedSample`
wraps what these functions return.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from autoscope.errors import InputDataError

__all__ = [
    "BEPS_FILE",
    "PFM_FILE",
    "data_label",
    "data_path",
    "despike",
    "read_beps",
    "read_pfm",
    "shipped_data_dir",
]

BEPS_FILE = "BEPS_PTO_50x50.h5"
PFM_FILE = "PTO_Funakubo0001.h5"
#: Where the shipped copies live, relative to the installed ``autoscope`` package.
SHIPPED_DIR = "sim/data"


def shipped_data_dir() -> Path:
    """Return the folder of the data files shipped with the package (``autoscope/sim/data``)."""
    return Path(str(resources.files("autoscope.sim") / "data"))


def data_label(path: str | os.PathLike) -> str:
    """Describe a data file's location for stored metadata, independent of the machine.

    The shipped copy is written as ``autoscope/sim/data/<file>`` (the same on
    every installation); any other file keeps its absolute path.

    Examples
    --------
    >>> data_label(shipped_data_dir() / BEPS_FILE)
    'autoscope/sim/data/BEPS_PTO_50x50.h5'
    """
    p = Path(path)
    if p.resolve().parent == shipped_data_dir().resolve():
        return f"autoscope/{SHIPPED_DIR}/{p.name}"
    return str(p)


def data_path(filename: str, path: str | os.PathLike | None = None) -> Path:
    """Locate a data file: an explicit path, ``$AUTOSCOPE_DATA``, else the shipped copy.

    Tried in order: ``path`` if given (it must exist); ``$AUTOSCOPE_DATA/<filename>``
    and ``$AUTOSCOPE_DATA/dtmicroscope/<filename>`` if that variable is set; the
    copy shipped in ``autoscope/sim/data/`` (:func:`shipped_data_dir`).

    Parameters
    ----------
    filename : str
        The file's name, e.g. :data:`BEPS_FILE` or :data:`PFM_FILE`.
    path : path-like, optional
        An explicit file, used as is.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        Naming every place tried and how to point autoscope at the file.

    Examples
    --------
    >>> data_path(BEPS_FILE).name
    'BEPS_PTO_50x50.h5'
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"data file not found: {p}")
        return p
    tried: list[Path] = []
    env = os.environ.get("AUTOSCOPE_DATA")
    if env:
        tried += [Path(env) / filename, Path(env) / "dtmicroscope" / filename]
    tried.append(shipped_data_dir() / filename)
    for p in tried:
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"{filename} not found; tried {[str(p) for p in tried]}. Pass path=..., or set "
        "AUTOSCOPE_DATA to the folder holding it (files: pycroscopy/DTMicroscope, MIT)"
    )


def despike(spectra: np.ndarray, threshold: float = 10.0) -> tuple[np.ndarray, int]:
    r"""Replace isolated single-point spikes along the last axis by the 3-point running median.

    A point is a spike when :math:`|y_k - m_k| > t\,s`, with :math:`m` the
    3-point median (edges repeated), :math:`s = 1.4826\,\mathrm{median}_k
    |y_{k+1} - y_k| / \sqrt2` the noise level of each spectrum estimated from
    its first differences, and ``t = threshold``. Steps (switching events)
    survive, as a monotonic triple has :math:`y = m`; bursts of several bad
    points (as around some switching events of the BEPS data) are not removed.

    Parameters
    ----------
    spectra : ndarray, shape (..., L)
    threshold : float

    Returns
    -------
    cleaned : ndarray, shape (..., L)
    n_replaced : int
    """
    y = np.asarray(spectra, dtype=float)
    m = ndi.median_filter(y, size=(1,) * (y.ndim - 1) + (3,), mode="nearest")
    r = np.abs(y - m)
    s = 1.4826 * np.median(np.abs(np.diff(y, axis=-1)), axis=-1, keepdims=True) / np.sqrt(2.0)
    spikes = (r > threshold * s) & (r > 0)
    return np.where(spikes, m, y), int(spikes.sum())


def read_beps(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, float]:
    """Read the BEPS loop grid.

    Returns
    -------
    spectra : ndarray, shape (H, W, L)
        ``Channel_000/generic/generic`` (piezoresponse, a.u.) in the file's order.
    axis : ndarray, shape (L,)
        ``Voltage``: the DC bias, V.
    pixel_size : float
        Spacing of ``X``, nm.
    """
    import h5py

    with h5py.File(path, "r") as f:
        g = f["Channel_000/generic"]
        spectra = np.asarray(g["generic"][()], dtype=float)
        axis = np.asarray(g["Voltage"][()], dtype=float)
        x = np.asarray(g["X"][()], dtype=float)
    return spectra, axis, float(abs(x[1] - x[0]) * 1e9)


def read_pfm(path: str | os.PathLike) -> tuple[np.ndarray, float | None]:
    """Read the PFM scan as an (H, W, 3) image: amplitude (pm), phase (deg), topography (nm).

    Channels are found by their ``quantity`` attribute (AmplitudeRetrace,
    PhaseRetrace, HeightRetrace); the height has its least-squares plane
    removed. Arrays keep the file's order.

    Returns
    -------
    image : ndarray, shape (H, W, 3)
    pixel_size : float or None
        Spacing of the ``x`` axis, nm (None if the file has none).

    Raises
    ------
    InputDataError
        If a channel is missing.
    """
    import h5py

    found: dict[str, np.ndarray] = {}
    pixel_size = None
    with h5py.File(path, "r") as f:
        meas = f["Measurement_000"]
        for name in meas:
            grp = meas[name][name]
            ds = grp[name]
            found[str(ds.attrs.get("quantity", name))] = np.asarray(ds[()], dtype=float)
            if "x" in grp:
                x = np.asarray(grp["x"][()], dtype=float)
                pixel_size = float(abs(x[1] - x[0]) * 1e9)
    need = ("AmplitudeRetrace", "PhaseRetrace", "HeightRetrace")
    missing = [q for q in need if q not in found]
    if missing:
        raise InputDataError(f"{path}: channels {missing} not found (have {sorted(found)})")
    height = found["HeightRetrace"] * 1e9
    rr, cc = np.mgrid[0 : height.shape[0], 0 : height.shape[1]]
    design = np.column_stack([rr.ravel(), cc.ravel(), np.ones(rr.size)])
    coef = np.linalg.lstsq(design, height.ravel(), rcond=None)[0]
    height = height - (design @ coef).reshape(height.shape)
    image = np.stack([found["AmplitudeRetrace"] * 1e12, found["PhaseRetrace"], height], axis=-1)
    return image, pixel_size
