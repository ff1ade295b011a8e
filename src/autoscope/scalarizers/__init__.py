"""Scalarizers: functions that turn a measured spectrum into the number an experiment optimises.

A scalarizer is any ``f(spectrum, axis) -> float``. The discovery path of an
autonomous experiment depends on it, so scalarizers are named and parameterised
by a JSON spec ``{"name": ..., "params": {...}}`` that plans, queueserver items
and stored runs carry.

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

__all__ = ["Scalarizer", "available", "from_spec", "get", "register", "to_spec"]
