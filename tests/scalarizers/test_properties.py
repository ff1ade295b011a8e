"""Property-based (hypothesis): scalarizers on any spectrum: NaN, inf, constants, huge numbers.

Whatever a detector returns, a scalarizer gives a float or raises ``ValueError``
(``InputDataError``) naming the problem — never another exception — and the plan's
guard (``plan_stubs._safe_scalar``) turns anything that is not finite into NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autoscope import scalarizers
from autoscope.plan_stubs import _safe_scalar

AXIS = np.linspace(-5.0, 10.0, 32)
SPECS_1D = [
    {"name": "band_integral", "params": {"low": 0.0, "high": 4.0}},
    {"name": "band_max", "params": {"low": 0.0, "high": 5.0}},
    {"name": "centroid", "params": {"low": 0.0, "high": 10.0}},
    {"name": "loop_area", "params": {}},
    {"name": "loop_height", "params": {}},
    {"name": "coercive_field", "params": {}},
    {"name": "remanence", "params": {}},
    {"name": "imprint", "params": {}},
]
SPECS_2D = [
    {"name": "com_magnitude", "params": {}},
    {"name": "com_x", "params": {}},
    {"name": "com_angle", "params": {}},
    {"name": "annular_integral", "params": {"inner": 1.0, "outer": 3.0}},
]
K = 9
AXIS_2D = np.linspace(-4.0, 4.0, K)

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 1e-300]),
)


def spectra(shape):
    """Arrays of ``shape``: arbitrary values, or a constant (incl. 0, NaN, inf, ±1e300)."""
    return st.one_of(
        arrays(np.float64, shape, elements=values),
        values.map(lambda v: np.full(shape, v)),
    )


def check(spec, spectrum, axis):
    f = scalarizers.from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in sums of 1e300 is expected
        try:
            value = f(spectrum, axis)
        except ValueError:
            value = None  # refused, with a message: fine
    if value is not None:
        assert isinstance(value, float | np.floating), (spec, type(value))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        guarded = _safe_scalar(lambda s: f(s, axis), spectrum, 0)
    assert isinstance(guarded, float) and (np.isfinite(guarded) or np.isnan(guarded))


@pytest.mark.parametrize("spec", SPECS_1D, ids=[s["name"] for s in SPECS_1D])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spectrum=spectra((32,)))
def test_spectral_scalarizers_on_anything(spec, spectrum):
    check(spec, spectrum, AXIS)


@pytest.mark.parametrize("spec", SPECS_2D, ids=[s["name"] for s in SPECS_2D])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=spectra((K, K)))
def test_diffraction_scalarizers_on_anything(spec, pattern):
    check(spec, pattern, AXIS_2D)
