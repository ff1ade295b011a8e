"""Property-based tests: every scalarizer returns a float or raises ValueError naming the problem.

Hypothesis draws spectra of random shapes and values — NaN, ±inf, constants, huge and tiny
numbers — on random axes. For every registered scalarizer, ``f(spectrum, axis)`` and
``f.apply(batch, axis)`` must either return float(s) (NaN allowed: it means "undefined here") or
raise :class:`ValueError` (``InputDataError``) whose message names what was wrong; any other
exception is a crash and fails the test.
"""

from __future__ import annotations

import re
import warnings

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoscope import scalarizers
from autoscope.errors import InputDataError
from autoscope.scalarizers._registry import _REGISTRY

from .conftest import triangle

# every registered scalarizer, with parameters that are valid on the axes drawn below
BAND = {"low": 2.0, "high": 6.0}
SPECTRUM_SPECS = {
    "band_integral": BAND,
    "band_max": BAND,
    "centroid": BAND,
    "peak_height": BAND,
    "peak_position": BAND,
    "peak_width": BAND,
    "peak_ratio": {"low1": 1.0, "high1": 3.0, "low2": 5.0, "high2": 8.0},
    "combine": {
        "op": "ratio",
        "terms": [
            {"spec": {"name": "band_integral", "params": {"low": 0.0, "high": 4.0}}},
            {"spec": {"name": "band_max", "params": BAND}, "weight": 2.0},
        ],
    },
}
LOOP_SPECS = {
    name: {}
    for name in ("loop_area", "loop_height", "coercive_field", "imprint", "remanence", "poly3")
}
LOOP_SPECS["beps_fit"] = {}
PATTERN_SPECS = {
    "com_x": {},
    "com_y": {},
    "com_magnitude": {},
    "com_angle": {},
    "annular_integral": {"inner": 0.5, "outer": 3.0},
}
COVERED = set(SPECTRUM_SPECS) | set(LOOP_SPECS) | set(PATTERN_SPECS) | {"similarity"}

# values a detector or a bad file can produce
SPECIAL = [np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300, 5e-324, 0.0, -0.0, np.finfo(float).max]
special = st.sampled_from(SPECIAL)
weird = st.one_of(special, st.floats(allow_nan=True, allow_infinity=True))
ordinary = st.floats(-1e3, 1e3, allow_nan=False)


def spectra(length: int):
    """Arrays of ``length`` values: ordinary, constant, with special values, or all special.

    Hypothesis seldom draws infinities inside arrays by itself, so special values are put
    in explicitly.
    """
    base = hnp.arrays(float, length, elements=ordinary)
    return st.one_of(
        base,
        st.builds(lambda v: np.full(length, v), st.one_of(special, ordinary)),
        st.builds(
            _with,
            base,
            st.lists(st.tuples(st.integers(0, length - 1), special), min_size=1, max_size=4),
        ),
        hnp.arrays(float, length, elements=st.one_of(special, st.sampled_from([1.0, -2.5]))),
    )


def _with(base: np.ndarray, changes: list[tuple[int, float]]) -> np.ndarray:
    out = base.copy()
    for idx, value in changes:
        out[idx] = value
    return out


def check_outcome(call) -> float | None:
    """Run ``call``; return its float, or None after a ValueError that says something."""
    with warnings.catch_warnings():
        # numpy may warn on overflow inside a scalarizer; only the outcome is under test here
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            out = call()
        except InputDataError as exc:  # a ValueError of autoscope's own, not a library's
            msg = str(exc)
            assert len(msg) > 10 and re.search(r"[a-z]", msg), f"uninformative error {msg!r}"
            return None
    return out


def assert_scalar(value) -> None:
    assert type(value) is float, f"expected a float, got {type(value).__name__} {value!r}"


settings.register_profile(
    "scalarizers",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
PROFILE = settings.get_profile("scalarizers")


def test_every_library_scalarizer_is_covered():
    # the library's own (other tests register throwaway ones defined in tests/)
    library = {
        name
        for name in scalarizers.available()
        if _REGISTRY[name].func.__module__.startswith("autoscope.scalarizers")
    }
    assert len(library) >= 21
    assert library <= COVERED, f"add a spec for {sorted(library - COVERED)} to test_properties.py"


@pytest.mark.parametrize("name", sorted(SPECTRUM_SPECS))
@settings(PROFILE)
@given(data=st.data(), length=st.integers(2, 80), lo=st.floats(-1.0, 1.0), span=ordinary)
def test_spectrum_scalarizers_return_a_float_or_refuse(name, data, length, lo, span):
    f = scalarizers.get(name, **SPECTRUM_SPECS[name])
    axis = np.linspace(0.0, 10.0, length) if abs(span) < 1 else np.linspace(lo, lo + span, length)
    spectrum = data.draw(spectra(length))
    value = check_outcome(lambda: f(spectrum, axis))
    if value is not None:
        assert_scalar(value)
        why = check_outcome(lambda: f.explain(spectrum, axis))  # says why a value is NaN
        assert why is None or isinstance(why, str)
        if np.isnan(value):
            assert why, "a NaN value comes with a reason"
    batch = np.stack([spectrum, data.draw(spectra(length))])
    out = check_outcome(lambda: f.apply(batch, axis))
    if out is not None:
        assert out.shape == (2,) and out.dtype == float
        if value is not None:  # one spectrum and the batch agree (NaN where undefined)
            np.testing.assert_allclose(out[0], value, rtol=1e-6, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("name", sorted(LOOP_SPECS))
@settings(PROFILE)
@given(data=st.data(), quarter=st.integers(2, 24), vmax=st.floats(0.1, 100.0))
def test_loop_scalarizers_return_a_float_or_refuse(name, data, quarter, vmax):
    f = scalarizers.get(name, **LOOP_SPECS[name])
    axis = triangle(4 * quarter, vmax)
    response = data.draw(spectra(axis.size))
    value = check_outcome(lambda: f(response, axis))
    if value is not None:
        assert_scalar(value)
        why = check_outcome(lambda: f.explain(response, axis))
        assert why is None or isinstance(why, str)
        if np.isnan(value):
            assert why, "a NaN value comes with a reason"


@pytest.mark.parametrize("name", sorted(PATTERN_SPECS))
@settings(PROFILE)
@given(data=st.data(), k=st.integers(2, 16))
def test_pattern_scalarizers_return_a_float_or_refuse(name, data, k):
    f = scalarizers.get(name, **PATTERN_SPECS[name])
    axis = np.linspace(-4.0, 4.0, k)
    pattern = data.draw(spectra(k * k)).reshape(k, k)
    value = check_outcome(lambda: f(pattern, axis))
    if value is not None:
        assert_scalar(value)


@settings(PROFILE)
@given(data=st.data(), length=st.integers(2, 60), metric=st.sampled_from(["neg_mse", "cosine"]))
def test_similarity_returns_a_float_or_refuses(data, length, metric):
    target = data.draw(hnp.arrays(float, length, elements=ordinary))
    f = check_outcome(lambda: scalarizers.get("similarity", target=target.tolist(), metric=metric))
    if f is None:
        return
    value = check_outcome(lambda: f(data.draw(spectra(length)), np.arange(float(length))))
    if value is not None:
        assert_scalar(value)


@pytest.mark.parametrize("name", ["band_integral", "loop_area", "com_x", "combine"])
@settings(PROFILE)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6), n=st.integers(0, 9))
def test_wrong_shapes_are_refused_naming_the_shape(name, shape, n):
    params = {**SPECTRUM_SPECS, **LOOP_SPECS, **PATTERN_SPECS}[name]
    f = scalarizers.get(name, **params)
    spectrum = np.ones(shape)
    axis = np.linspace(0.0, 10.0, n)
    fits = spectrum.ndim == (f.spectrum_ndim or 1) and spectrum.shape[-1] == n
    if f.spectrum_ndim == 2:
        fits = fits and spectrum.shape == (n, n)
    if fits:
        return
    with pytest.raises(InputDataError, match=r"shape|axis|spectrum|pattern|\d-D"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f(spectrum, axis)


@settings(PROFILE)
@given(
    low=st.one_of(weird, st.text(max_size=3), st.none()),
    high=st.one_of(weird, st.text(max_size=3), st.none()),
)
def test_bad_parameters_are_refused_when_the_spec_is_built(low, high):
    try:
        f = scalarizers.get("band_integral", low=low, high=high)
    except InputDataError as exc:
        assert "band_integral" in str(exc) or "low" in str(exc) or "high" in str(exc), str(exc)
        return
    # accepted: then the band is usable, numbers in order
    assert isinstance(f.params["low"], float | int) and isinstance(f.params["high"], float | int)
    assert np.isfinite(f.params["low"]) and np.isfinite(f.params["high"])
