"""Former name of :mod:`autoscope.sim.recorded` (recorded arrays as a sample), kept as an alias.

"Replay" now names only the analysis of stored runs (:mod:`autoscope.replay`);
recorded data played back as a sample is :class:`autoscope.sim.recorded.RecordedSample`.
Code that imports ``autoscope.sim.replay.ReplaySample`` keeps working: it is the
same class.

Examples
--------
>>> from autoscope.sim.replay import ReplaySample
>>> from autoscope.sim.recorded import RecordedSample
>>> ReplaySample is RecordedSample
True
"""

from autoscope.sim.recorded import (
    BEPS_FILE,
    PFM_FILE,
    RecordedSample,
    data_path,
    despike,
    shipped_data_dir,
)

#: The former name of :class:`~autoscope.sim.recorded.RecordedSample` (the same class).
ReplaySample = RecordedSample

__all__ = [
    "BEPS_FILE",
    "PFM_FILE",
    "RecordedSample",
    "ReplaySample",
    "data_path",
    "despike",
    "shipped_data_dir",
]
