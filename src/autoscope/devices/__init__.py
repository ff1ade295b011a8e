"""Instruments: one contract (:class:`autoscope.protocols.Instrument`), several backends.

:mod:`autoscope.devices.sim` (ophyd v1) and :mod:`autoscope.devices.sim_async`
(ophyd-async) run in-process over a simulated or recorded sample;
:mod:`autoscope.devices.epics` talks Channel Access to an IOC
(:mod:`autoscope.devices.ioc` serves a sample as one); :mod:`autoscope.devices.nion`
drives Nion Swift's instrumentation. :mod:`autoscope.devices.async_base` holds
the ophyd-async building blocks for new adapters. Only the ophyd v1 names and the
scan grid are imported here; the other backends need their extras.
"""

from autoscope.devices._detectors import (
    DataSignal,
    DiffractionDetector,
    Spectrometer,
    StructureDetector,
)
from autoscope.devices._grid import ScanGrid
from autoscope.devices._probe import Probe, ProbeAxis
from autoscope.devices.faults import FaultModel
from autoscope.devices.sim import SimMicroscope, SimSPM, SimSTEM

__all__ = [
    "DataSignal",
    "DiffractionDetector",
    "FaultModel",
    "Probe",
    "ProbeAxis",
    "ScanGrid",
    "SimMicroscope",
    "SimSPM",
    "SimSTEM",
    "Spectrometer",
    "StructureDetector",
]
