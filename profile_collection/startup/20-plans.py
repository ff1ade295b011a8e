# Plans available in the session and to the queueserver.
from bluesky.plans import count, grid_scan, list_scan  # noqa: F401

from autoscope.plans import (  # noqa: F401
    acquire_structure,
    direct_spectra,
    dkl_explore,
    random_spectra,
    raster_spectra,
)
