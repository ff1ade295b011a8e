"""The scalarizer registry: names, specs, validation, explain, custom registration."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.errors import InputDataError

EXPECTED = {
    "band_integral", "centroid", "band_max", "peak_position", "peak_width", "peak_height",
    "peak_ratio", "loop_area", "loop_height", "coercive_field", "imprint", "remanence",
    "beps_fit", "poly3", "com_magnitude", "com_angle", "com_x", "com_y", "annular_integral",
    "similarity", "combine",
}  # fmt: skip

# one valid spec per scalarizer (interface names and parameter names of interfaces.md)
SPECS = [
    {"name": "band_integral", "params": {"low": 1.0, "high": 2.0}},
    {"name": "centroid", "params": {"low": 1.0, "high": 2.0}},
    {"name": "band_max", "params": {"low": 1.0, "high": 2.0}},
    {"name": "peak_position", "params": {"low": 1.0, "high": 2.0, "model": "lorentzian"}},
    {"name": "peak_width", "params": {"low": 1.0, "high": 2.0, "model": "gaussian"}},
    {"name": "peak_height", "params": {"low": 1.0, "high": 2.0}},
    {
        "name": "peak_ratio",
        "params": {"low1": 1, "high1": 2, "low2": 3, "high2": 4, "method": "fit"},
    },
    {"name": "loop_area", "params": {}},
    {"name": "loop_height", "params": {}},
    {"name": "coercive_field", "params": {"which": "width"}},
    {"name": "imprint", "params": {}},
    {"name": "remanence", "params": {"which": "difference"}},
    {"name": "beps_fit", "params": {"coefficient": "b3"}},
    {"name": "poly3", "params": {"coefficient": "A/B"}},
    {"name": "com_magnitude", "params": {"center": None}},
    {"name": "com_angle", "params": {"center": [0.5, -0.5]}},
    {"name": "com_x", "params": {}},
    {"name": "com_y", "params": {}},
    {"name": "annular_integral", "params": {"inner": 1.0, "outer": 3.0, "center": None}},
    {"name": "similarity", "params": {"target": [0.0, 1.0, 2.0], "metric": "ssim"}},
    {"name": "combine", "params": {"terms": [{"spec": "loop_area", "weight": 2.0}], "op": "sum"}},
]


def test_every_interface_name_is_registered():
    assert EXPECTED <= set(scalarizers.available())
    assert {s["name"] for s in SPECS} == EXPECTED


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["name"])
def test_spec_round_trips_through_json(spec):
    sc = scalarizers.from_spec(json.loads(json.dumps(spec)))
    assert sc.spec == spec
    assert scalarizers.from_spec(sc.spec) == sc
    assert scalarizers.to_spec(sc) == spec


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("no_such_thing", {}, "unknown scalarizer 'no_such_thing'"),
        ("band_integral", {"low": 1.0, "hi": 2.0}, r"unknown parameter\(s\) \['hi'\]"),
        ("band_integral", {"low": 1.0}, "missing a required argument: 'high'"),
        ("band_integral", {"low": "a", "high": 2.0}, "band low' must be a number, got 'a'"),
        ("band_integral", {"low": 3.0, "high": 2.0}, "low < high"),
        ("band_max", {"low": 1.0, "high": float("nan")}, "must be finite"),
        ("peak_position", {"low": 1, "high": 2, "model": "voigt"}, "'model' must be one of"),
        ("peak_ratio", {"low1": 1, "high1": 2, "low2": 3, "high2": 4, "method": "sum"}, "'method'"),
        ("coercive_field", {"which": "both"}, "'which' must be one of"),
        ("remanence", {"which": "width"}, "'which' must be one of"),
        ("loop_area", {"despike": 4}, "odd window"),
        ("loop_area", {"despike": 2.5}, "'despike' must be an integer"),
        ("loop_height", {"spike_threshold": 0}, "'spike_threshold' must be > 0"),
        ("beps_fit", {"coefficient": "a9"}, "'coefficient' must be one of"),
        ("poly3", {"coefficient": "D"}, "'coefficient' must be one of"),
        ("com_x", {"center": 3.0}, "'center' must be None or \\[cx, cy\\]"),
        ("com_x", {"center": [1.0, "b"]}, "center\\[1\\]"),
        ("annular_integral", {"inner": 2.0, "outer": 1.0}, "outer > inner"),
        ("annular_integral", {"inner": -1.0, "outer": 1.0}, "'inner' must be >= 0"),
        ("similarity", {"target": "abc"}, "'target' must be a list of numbers"),
        ("similarity", {"target": [1.0, None]}, "'target'"),
        ("similarity", {"target": [1.0, 2.0], "metric": "l1"}, "'metric' must be one of"),
        ("combine", {"terms": []}, "'terms' must be a non-empty list"),
        ("combine", {"terms": [{"spec": "nope"}]}, "combine term 0: unknown scalarizer 'nope'"),
        ("combine", {"terms": [{"spec": "loop_area", "w": 1}]}, "combine term 0 must be a dict"),
        ("combine", {"terms": [{"spec": "loop_area", "weight": "x"}]}, "terms\\[0\\].weight"),
        ("combine", {"terms": [{"spec": "loop_area"}], "op": "ratio"}, "exactly 2 terms"),
        ("combine", {"terms": [{"spec": "loop_area"}, {"spec": "com_x"}]}, "dimensionality"),
    ],
)
def test_bad_specs_raise_value_error_at_build(name, params, match):
    with pytest.raises(ValueError, match=match):
        scalarizers.get(name, **params)
    with pytest.raises(InputDataError):
        scalarizers.from_spec({"name": name, "params": params})


def test_nested_combine_error_names_the_path():
    inner = {
        "name": "combine",
        "params": {"terms": [{"spec": {"name": "poly3", "params": {"x": 1}}}]},
    }
    with pytest.raises(ValueError, match=r"combine term 1: combine term 0: .*unknown parameter"):
        scalarizers.get("combine", terms=[{"spec": "loop_area"}, {"spec": inner}])


def test_malformed_spec_objects():
    with pytest.raises(ValueError, match="got keys"):
        scalarizers.from_spec({"nam": "loop_area"})
    with pytest.raises(ValueError, match="'params' must be a dict"):
        scalarizers.from_spec({"name": "loop_area", "params": [1]})
    with pytest.raises(ValueError, match="a scalarizer is a name"):
        scalarizers.from_spec(3)


def test_validate_against_axis_and_shape():
    axis = np.linspace(0.0, 10.0, 11)
    sc = scalarizers.get("band_integral", low=2.0, high=20.0)  # fine without an axis
    with pytest.raises(ValueError, match=r"band \[2.0, 20.0\] lies outside the axis range"):
        sc.validate(axis)
    sc = scalarizers.get("band_integral", low=2.0, high=4.0)
    sc.validate(axis, (11,))
    with pytest.raises(ValueError, match="spectrum length 12 does not match axis length 11"):
        sc.validate(axis, (12,))
    with pytest.raises(ValueError, match="expects 1-D spectra"):
        sc.validate(axis, (11, 11))
    with pytest.raises(ValueError, match="holds 0 axis point"):
        scalarizers.get("band_max", low=2.1, high=2.9).validate(axis)
    with pytest.raises(ValueError, match="spectrum of shape \\(12,\\) does not match axis"):
        sc(np.ones(12), axis)
    com = scalarizers.get("com_x")
    com.validate(np.arange(8.0), (8, 8))
    with pytest.raises(ValueError, match=r"pattern shape \(8, 9\) does not match the detector"):
        com.validate(np.arange(9.0), (8, 9))
    with pytest.raises(ValueError, match=r"expected \(9, 9\)"):
        com(np.ones((8, 9)), np.arange(9.0))
    with pytest.raises(ValueError, match="outside the detector axis range"):
        scalarizers.get("com_x", center=[20.0, 1.0]).validate(np.arange(8.0))
    with pytest.raises(ValueError, match="holds no detector pixel"):
        scalarizers.get("annular_integral", inner=50.0, outer=60.0).validate(np.arange(8.0))


def test_loop_axis_problems_are_caught_by_validate():
    mono = np.linspace(-5, 5, 32)
    for name in ("loop_area", "coercive_field", "imprint", "remanence", "beps_fit"):
        with pytest.raises(ValueError, match="both sweep directions"):
            scalarizers.get(name).validate(mono)
    shifted = np.concatenate([np.linspace(1, 5, 9), np.linspace(5, 1, 9)[1:]])
    with pytest.raises(ValueError, match="span V = 0"):
        scalarizers.get("remanence").validate(shifted)
    with pytest.raises(ValueError, match="3 distinct non-zero"):
        scalarizers.get("poly3").validate(np.array([0.0, 1.0, 1.0, 2.0, 0.0]))


def test_similarity_target_length_checked_with_axis():
    sc = scalarizers.get("similarity", target=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="target length 3 does not match the axis length 4"):
        sc.validate(np.arange(4.0))
    with pytest.raises(ValueError, match="target length 3 does not match the spectrum length 4"):
        sc(np.ones(4), np.arange(4.0))


def test_combine_validates_terms_against_axis():
    sc = scalarizers.get(
        "combine", terms=[{"spec": {"name": "band_max", "params": {"low": 0.0, "high": 50.0}}}]
    )
    with pytest.raises(ValueError, match=r"combine term 0 \(band_max\): band \[0.0, 50.0\]"):
        sc.validate(np.arange(10.0), (10,))
    two_d = scalarizers.get("combine", terms=[{"spec": "com_x"}, {"spec": "com_y"}])
    assert two_d.spectrum_ndim == 2
    with pytest.raises(ValueError, match="expects 2-D spectra"):
        two_d.validate(np.arange(8.0), (8,))


def test_register_a_user_function_with_explain_and_vectorized():
    def edge_jump(spectrum, axis, at=0.0, scale=1.0):
        i = int(np.searchsorted(axis, at))
        return scale * (spectrum[i:].mean() - spectrum[:i].mean()) if 0 < i < len(axis) else np.nan

    name = "test_edge_jump"
    scalarizers.register(name, edge_jump, overwrite=True)
    assert name in scalarizers.available()
    axis = np.linspace(-1, 1, 20)
    sc = scalarizers.from_spec({"name": name, "params": {"at": 0.0, "scale": 2.0}})
    s = np.where(axis > 0, 3.0, 1.0)
    assert sc(s, axis) == pytest.approx(4.0)
    np.testing.assert_allclose(sc.apply(np.stack([s, 2 * s]), axis), [4.0, 8.0])
    assert sc.explain(s, axis) is None
    assert "returned nan" in scalarizers.get(name, at=5.0).explain(s, axis)
    with pytest.raises(ValueError, match="already registered"):
        scalarizers.register(name, edge_jump)
    with pytest.raises(ValueError, match="unknown parameter"):
        scalarizers.get(name, where=0.0)
    with pytest.raises(ValueError, match="must take \\(spectrum, axis"):
        scalarizers.register("test_bad", lambda s: 0.0)
    with pytest.raises(ValueError, match="JSON-serialisable"):
        scalarizers.get(name, at=object())


def test_apply_keeps_leading_shape_and_empty_batches():
    axis = np.linspace(0.0, 1.0, 5)
    sc = scalarizers.get("band_max", low=0.0, high=1.0)
    grid = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
    out = sc.apply(grid, axis)
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out, grid.max(axis=2))
    assert sc.apply(np.empty((0, 5)), axis).shape == (0,)
    with pytest.raises(ValueError, match="expected a batch"):
        sc.apply(np.ones(5), axis)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["name"])
def test_scalarizers_pickle_by_spec(spec):
    sc = scalarizers.from_spec(spec)
    again = pickle.loads(pickle.dumps(sc))
    assert again == sc and again.spec == spec
