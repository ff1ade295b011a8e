# Devices of the session: the instrument and the steering controls.
#
# Swap the simulated instrument for the EPICS-backed one at a facility. Any further
# top-level device defined here is listed to the queueserver and may be passed by name
# as a plan's ``microscope`` (or ``steering``).
import os

from autoscope.devices.sim import SimMicroscope
from autoscope.sim import make_sample
from autoscope.steering import Steering

_kind = os.environ.get("AUTOSCOPE_SAMPLE", "stem")
_n = int(os.environ.get("AUTOSCOPE_SHAPE", "64"))
microscope = SimMicroscope(make_sample(_kind, shape=(_n, _n), seed=0), name="microscope", seed=0)

# pass ``steering="steer"`` to dkl_explore; steer it with the steer_* functions (20-plans.py)
steer = Steering(name="steer")
