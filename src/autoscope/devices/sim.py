"""Simulated instruments: any sample wrapped as an Ophyd v1 microscope (probe + detectors).

:class:`SimMicroscope` turns a sample (:class:`autoscope.sim.base.BaseSample` or
anything with the same attributes) into a scanning instrument with a probe
(``probe.x``, ``probe.y``), a structural-image detector (``structure``) and a
spectral detector (``spectrometer``). :class:`SimSTEM` and :class:`SimSPM` are
ready-made presets. All noise comes from one :class:`numpy.random.Generator`
owned by the instrument.

Examples
--------
>>> from bluesky import RunEngine
>>> from bluesky.plans import list_scan
>>> from autoscope.sim.tiny import TinySample
>>> mic = SimMicroscope(TinySample(seed=0), seed=1)
>>> mic.pixel_to_position(2, 3)
(1.5, 1.0)
>>> RE = RunEngine({})  # doctest: +SKIP
>>> plan = list_scan([mic.spectrometer], mic.probe.x, [0.0, 1.5], mic.probe.y, [0.5, 1.0])
>>> RE(plan)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device

from autoscope.devices._detectors import (
    DiffractionDetector,
    Spectrometer,
    StructureDetector,
    check_time,
)
from autoscope.devices._grid import ScanGrid
from autoscope.devices._probe import Probe
from autoscope.devices.faults import FaultModel
from autoscope.errors import InputDataError

__all__ = ["SimMicroscope", "SimSPM", "SimSTEM"]

_SAMPLE_ATTRS = ("image", "axis", "measure", "spectrum_shape", "pixel_size", "pixel_units")


def _check_sample(sample: Any, label: str = "sample") -> None:
    missing = [a for a in _SAMPLE_ATTRS if not hasattr(sample, a)]
    if missing:
        raise InputDataError(
            f"{label} must be a sample (e.g. autoscope.sim.make_sample(...)) with "
            f"{', '.join(_SAMPLE_ATTRS)}; {type(sample).__name__} lacks {', '.join(missing)}"
        )
    image = np.asarray(sample.image)
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise InputDataError(f"{label}.image must be (H, W) or (H, W, C), got shape {image.shape}")
    ps = sample.pixel_size
    if isinstance(ps, bool) or not isinstance(ps, int | float | np.number) or not ps > 0:
        raise InputDataError(f"{label}.pixel_size must be a positive number, got {ps!r}")
    if not np.isfinite(ps):
        raise InputDataError(f"{label}.pixel_size must be finite, got {ps!r}")


def _rng(seed: Any) -> np.random.Generator:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise InputDataError(f"seed must be an int or None, got {seed!r}")
    if seed is not None and seed < 0:
        raise InputDataError(f"seed must be >= 0, got {seed!r}")
    return np.random.default_rng(seed)


class SimMicroscope(Device):
    """A sample wrapped as a scanning instrument: probe, structural imager, spectrometer.

    The probe sits at physical positions ``x = col * Δ``, ``y = row * Δ`` with
    ``Δ = sample.pixel_size`` (``sample.pixel_units``); detectors measure at the
    nearest pixel, ``(row, col) = (rint(y / Δ), rint(x / Δ))``.

    Parameters
    ----------
    sample : BaseSample
        The specimen (``image`` H x W [x C], ``axis`` (L,), ``measure``,
        ``spectrum_shape``, ``pixel_size``, ``pixel_units``).
    name : str
        Ophyd name; reading keys are ``{name}_probe_x``, ``{name}_structure_image``,
        ``{name}_spectrometer_spectrum``, ...
    seed : int, optional
        Seed of the instrument's noise generator (spectral noise).
    move_time : float
        Probe travel time per pixel of distance, s/px (0: instant).
    dwell : float
        Spectral acquisition time per point, s.
    image_time : float
        Structural image acquisition time, s.
    faults : FaultModel or dict, optional
        Simulated faults (bad spectra, failing moves) and their rates
        (:class:`~autoscope.devices.faults.FaultModel`); none by default.
    **kwargs
        Passed to :class:`ophyd.Device`.

    Attributes
    ----------
    sample : BaseSample
    probe : Probe
        ``probe.x`` (limits ``[0, (W-1) Δ]``) and ``probe.y`` (``[0, (H-1) Δ]``).
    structure : StructureDetector
        ``image`` (H, W [, C]); configuration ``channels``, ``units``, ``pixel_size``.
    spectrometer : Spectrometer
        ``spectrum`` (``sample.spectrum_shape``), ``row``, ``col``; configuration
        ``axis`` (L,), ``axis_name``, ``axis_units``, ``units``, ``dwell``.

    Raises
    ------
    ValueError
        If ``sample`` is not a sample, a time is negative or not finite, or
        ``seed`` is not an int.
    """

    probe = Cpt(Probe, kind="hinted", doc="scanning probe (x, y)")
    structure = Cpt(StructureDetector, kind="normal", doc="structural-image detector")
    spectrometer = Cpt(Spectrometer, kind="normal", doc="spectral detector at the probe")

    def __init__(
        self,
        sample: Any,
        name: str = "microscope",
        *,
        seed: int | None = None,
        move_time: float = 0.0,
        dwell: float = 0.0,
        image_time: float = 0.0,
        faults: Any = None,
        **kwargs: Any,
    ) -> None:
        _check_sample(sample)
        self.faults = FaultModel.from_spec(faults)
        self.move_time = check_time("move_time", move_time)
        self.dwell = check_time("dwell", dwell)
        self.image_time = check_time("image_time", image_time)
        self.seed = seed
        self._rng = _rng(seed)
        super().__init__("", name=name, **kwargs)
        self.sample = sample
        h, w = (int(n) for n in np.shape(sample.image)[:2])
        ps = float(sample.pixel_size)
        units = str(sample.pixel_units)
        self.probe.x.configure_axis(
            limits=(0.0, (w - 1) * ps), egu=units, pixel_size=ps, move_time=self.move_time
        )
        self.probe.y.configure_axis(
            limits=(0.0, (h - 1) * ps), egu=units, pixel_size=ps, move_time=self.move_time
        )
        self.structure.bind(sample, acquire_time=self.image_time)
        self.spectrometer.bind(
            sample, self.current_pixel, self._rng, dwell=self.dwell, faults=self.faults
        )
        if self.faults is not None:
            move_rng = np.random.default_rng([self.faults.seed, 11])
            self.probe.x.inject_faults(self.faults, move_rng)
            self.probe.y.inject_faults(self.faults, move_rng)

    # -- geometry -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(H, W)`` in pixels."""
        return int(np.shape(self.sample.image)[0]), int(np.shape(self.sample.image)[1])

    @property
    def grid(self) -> ScanGrid:
        """The scan grid: the sample's pixels at its pixel size and units."""
        units = str(getattr(self.sample, "pixel_units", "px"))
        return ScanGrid(self.shape, float(self.sample.pixel_size), units)

    def pixel_to_position(self, row: int, col: int) -> tuple[float, float]:
        """Physical probe position ``(x, y)`` of pixel ``(row, col)`` (:class:`ScanGrid`).

        Raises
        ------
        ValueError
            If the pixel is not a pair of integers inside the grid.
        """
        return self.grid.pixel_to_position(row, col)

    def position_to_pixel(self, x: float, y: float) -> tuple[int, int]:
        """Nearest pixel ``(row, col)`` to the physical position ``(x, y)`` (:class:`ScanGrid`).

        Raises
        ------
        ValueError
            If a coordinate is not finite or lies more than half a pixel outside the grid.
        """
        return self.grid.position_to_pixel(x, y)

    def current_pixel(self) -> tuple[int, int]:
        """Return the pixel ``(row, col)`` nearest to the probe's current position."""
        return self.position_to_pixel(float(self.probe.x.position), float(self.probe.y.position))

    # -- metadata -------------------------------------------------------------------
    def describe_instrument(self) -> dict[str, Any]:
        """Describe the instrument as JSON: the sample's ``describe()`` plus device settings."""
        detectors = {
            "structure": {"acquire_time": float(self.structure.acquire_time.get())},
            "spectrometer": {"dwell": float(self.spectrometer.dwell.get())},
        }
        faults = {"faults": self.faults.spec()} if self.faults is not None else {}
        return faults | {
            "class": type(self).__name__,
            "name": self.name,
            "seed": self.seed,
            "move_time": float(self.probe.x.move_time),
            "move_time_units": "s/px",
            "limits": {"x": list(self.probe.x.limits), "y": list(self.probe.y.limits)},
            "position_units": str(self.sample.pixel_units),
            "detectors": detectors,
            "sample": self.sample.describe() if hasattr(self.sample, "describe") else {},
        }


class SimSTEM(SimMicroscope):
    """STEM preset: HAADF imager, low-loss EELS spectrometer and a 4D-STEM detector.

    The EELS and HAADF come from a ``"stem"`` sample; the diffraction patterns
    (``diffraction.pattern``, ``(K, K)``) from a ``"fourd"`` sample of the same
    seed and shape, addressed by the same pixel index.

    Parameters
    ----------
    sample : BaseSample, optional
        The STEM sample; ``make_sample("stem", shape, seed)`` when omitted.
    name : str
    shape : (int, int)
        Grid shape of the samples made here.
    seed : int
        Seed of the samples made here and of the instrument noise.
    fourd : BaseSample, optional
        The 4D-STEM sample; ``make_sample("fourd", sample.shape, sample.seed)``
        when omitted (``seed`` if the sample has none).
    sample_params : dict, optional
        Physics parameters for the STEM sample made here.
    **kwargs
        ``move_time``, ``dwell``, ``image_time`` as in :class:`SimMicroscope`.
    """

    diffraction = Cpt(DiffractionDetector, kind="normal", doc="4D-STEM pixelated detector")

    def __init__(
        self,
        sample: Any = None,
        name: str = "microscope",
        *,
        shape: tuple[int, int] = (64, 64),
        seed: int = 0,
        fourd: Any = None,
        sample_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        from autoscope.sim import make_sample

        if sample is None:
            sample = make_sample("stem", shape=shape, seed=seed, **(sample_params or {}))
        _check_sample(sample)
        if fourd is None:
            fourd_seed = getattr(sample, "seed", None)
            fourd = make_sample(
                "fourd",
                shape=tuple(np.shape(sample.image)[:2]),
                seed=seed if fourd_seed is None else fourd_seed,
            )
        _check_sample(fourd, "fourd")
        if np.shape(fourd.image)[:2] != np.shape(sample.image)[:2]:
            raise InputDataError(
                f"fourd sample grid {np.shape(fourd.image)[:2]} differs from the sample grid "
                f"{np.shape(sample.image)[:2]}"
            )
        super().__init__(sample, name, seed=seed, **kwargs)
        self.fourd = fourd
        self.diffraction.bind(fourd, self.current_pixel, self._rng, dwell=self.dwell)

    def describe_instrument(self) -> dict[str, Any]:
        """As :meth:`SimMicroscope.describe_instrument`, plus the 4D-STEM sample and detector."""
        out = super().describe_instrument()
        out["detectors"]["diffraction"] = {"dwell": float(self.diffraction.dwell.get())}
        out["fourd_sample"] = self.fourd.describe() if hasattr(self.fourd, "describe") else {}
        return out


class SimSPM(SimMicroscope):
    """SPM preset: PFM/topography imager and hysteresis-loop spectroscopy over an ``"spm"`` sample.

    Parameters
    ----------
    sample : BaseSample, optional
        The SPM sample; ``make_sample("spm", shape, seed)`` when omitted.
    name : str
    shape : (int, int)
        Grid shape of the sample made here.
    seed : int
        Seed of the sample made here and of the instrument noise.
    sample_params : dict, optional
        Physics parameters for the SPM sample made here (e.g.
        ``{"spectroscopy": "ac_sweep"}``).
    **kwargs
        ``move_time``, ``dwell``, ``image_time`` as in :class:`SimMicroscope`.
    """

    def __init__(
        self,
        sample: Any = None,
        name: str = "microscope",
        *,
        shape: tuple[int, int] = (64, 64),
        seed: int = 0,
        sample_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        from autoscope.sim import make_sample

        if sample is None:
            sample = make_sample("spm", shape=shape, seed=seed, **(sample_params or {}))
        super().__init__(sample, name, seed=seed, **kwargs)
