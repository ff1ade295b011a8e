# The simulated instrument (swap for the EPICS-backed one at a facility).
import os

from autoscope.devices.sim import SimMicroscope
from autoscope.sim import make_sample

_kind = os.environ.get("AUTOSCOPE_SAMPLE", "stem")
_n = int(os.environ.get("AUTOSCOPE_SHAPE", "64"))
microscope = SimMicroscope(make_sample(_kind, shape=(_n, _n), seed=0), name="microscope", seed=0)
