"""Scalarizers: functions that turn a measured spectrum into the number an experiment optimises.

A scalarizer is any ``f(spectrum, axis) -> float``. The discovery path of an
autonomous experiment depends on it, so scalarizers are named and parameterised
by a JSON spec ``{"name": ..., "params": {...}}`` that plans, queueserver items
and stored runs carry. The library (formula, units and NaN policy of each in
``docs/scalarizers.md`` and the module docstrings):

* generic spectra (:mod:`.spectra`, :mod:`.peaks`): ``band_integral``,
  ``band_max``, ``centroid``, ``peak_position``, ``peak_width``,
  ``peak_height``, ``peak_ratio``;
* hysteresis loops (:mod:`.loops`, :mod:`.beps`, :mod:`.poly`): ``loop_area``,
  ``loop_height``, ``coercive_field``, ``imprint``, ``remanence``,
  ``beps_fit``, ``poly3``;
* 4D-STEM (:mod:`.diffraction`): ``com_x``, ``com_y``, ``com_magnitude``,
  ``com_angle``, ``annular_integral``;
* ``similarity`` to a target spectrum (:mod:`.similarity`) and ``combine``
  (:mod:`.compose`).

Examples
--------
>>> import numpy as np
>>> from autoscope import scalarizers
>>> axis = np.linspace(0.0, 10.0, 101)
>>> f = scalarizers.get("band_integral", low=2.0, high=4.0)
>>> round(f(np.ones(101), axis), 6)
2.0
>>> f.spec
{'name': 'band_integral', 'params': {'low': 2.0, 'high': 4.0}}
"""

from autoscope.scalarizers._registry import (
    Scalarizer,
    available,
    from_spec,
    get,
    register,
    to_spec,
)

# importing the library modules registers their scalarizers
from autoscope.scalarizers import spectra as _spectra  # noqa: E402,F401  isort: skip
from autoscope.scalarizers import peaks as _peaks  # noqa: E402,F401  isort: skip
from autoscope.scalarizers import loops as _loops  # noqa: E402,F401  isort: skip
from autoscope.scalarizers import beps as _beps  # noqa: E402,F401  isort: skip
from autoscope.scalarizers import poly as _poly  # noqa: E402,F401  isort: skip
from autoscope.scalarizers import diffraction as _diffraction  # noqa: E402,F401  isort: skip
from autoscope.scalarizers import similarity as _similarity  # noqa: E402,F401  isort: skip
from autoscope.scalarizers import compose as _compose  # noqa: E402,F401  isort: skip
from autoscope.scalarizers.beps import (  # noqa: E402  isort: skip
    LoopFit,
    beps_coefficients,
    beps_loop,
    fit_loop,
)
from autoscope.scalarizers.despike import hampel  # noqa: E402  isort: skip
from autoscope.scalarizers.loops import branches  # noqa: E402  isort: skip
from autoscope.scalarizers.peaks import PeakFit, fit_peak  # noqa: E402  isort: skip
from autoscope.scalarizers.poly import poly3_coefficients  # noqa: E402  isort: skip

__all__ = [
    "LoopFit",
    "PeakFit",
    "Scalarizer",
    "available",
    "beps_coefficients",
    "beps_loop",
    "branches",
    "fit_loop",
    "fit_peak",
    "from_spec",
    "get",
    "hampel",
    "poly3_coefficients",
    "register",
    "to_spec",
]
