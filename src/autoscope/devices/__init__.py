"""Ophyd (v1) devices: a sample wrapped as a scanning instrument (probe + detectors).

One interface, several backends: :mod:`autoscope.devices.sim` runs in-process over a
simulated or recorded sample; an EPICS backend will expose the same components.
"""

from autoscope.devices._detectors import (
    DataSignal,
    DiffractionDetector,
    Spectrometer,
    StructureDetector,
)
from autoscope.devices._probe import Probe, ProbeAxis
from autoscope.devices.faults import FaultModel
from autoscope.devices.sim import SimMicroscope, SimSPM, SimSTEM

__all__ = [
    "DataSignal",
    "DiffractionDetector",
    "FaultModel",
    "Probe",
    "ProbeAxis",
    "SimMicroscope",
    "SimSPM",
    "SimSTEM",
    "Spectrometer",
    "StructureDetector",
]
