# Devices of the session: the instruments and the steering controls.
#
# Swap the simulated instruments for the EPICS-backed one at a facility. Any further
# top-level device defined here is listed to the queueserver and may be passed by name
# as a plan's ``microscope`` (or ``steering``).
import os

from ophyd_async.plan_stubs import ensure_connected

from autoscope.devices.sim import SimMicroscope
from autoscope.devices.sim_async import SimAsyncMicroscope
from autoscope.sim import make_sample
from autoscope.steering import Steering

_kind = os.environ.get("AUTOSCOPE_SAMPLE", "stem")
_n = int(os.environ.get("AUTOSCOPE_SHAPE", "64"))
# ophyd v1
microscope = SimMicroscope(make_sample(_kind, shape=(_n, _n), seed=0), name="microscope", seed=0)
# ophyd-async, the same kind of sample: connected now, on the RunEngine's own event loop
# (00-base.py's RE), as every ophyd-async device must be before a plan is built
microscope_async = SimAsyncMicroscope(
    make_sample(_kind, shape=(_n, _n), seed=0), name="microscope_async", seed=0
)
RE(ensure_connected(microscope_async))  # noqa: F821 (RE: 00-base.py)

# pass ``steering="steer"`` to dkl_explore; steer it with the steer_* functions (20-plans.py)
steer = Steering(name="steer")
