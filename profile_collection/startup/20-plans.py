# Plans (and steering functions) available in the session and to the queueserver.
from bluesky.plans import count, grid_scan, list_scan  # noqa: F401

from autoscope.plans import (  # noqa: F401
    acquire_structure,
    direct_spectra,
    dkl_explore,
    random_spectra,
    raster_spectra,
)
from autoscope.steering import queueserver_functions

# steer_policy, steer_exclude, steer_stop, ... for the queueserver's function_execute
globals().update(queueserver_functions(steer))  # noqa: F821 (steer: 10-devices.py)
