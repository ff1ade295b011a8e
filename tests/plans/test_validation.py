"""Plans validate everything when they are built, before a message exists."""

from __future__ import annotations

import pytest

from autoscope import plans
from autoscope.errors import InputDataError

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
GOOD = dict(scalarizer=CENTROID, policy="ei", budget=12, n_seed=4, patch_size=8, seed=0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"scalarizer": "no_such_scalarizer"}, "unknown scalarizer 'no_such_scalarizer'"),
        ({"scalarizer": {"name": "centroid", "params": {"lo": 1}}}, "unknown parameter"),
        ({"scalarizer": {"name": "centroid", "params": {"low": 20.0, "high": 30.0}}}, "axis"),
        ({"scalarizer": {"name": "com_magnitude", "params": {}}}, "expects 2-D spectra"),
        ({"policy": "no_such_policy"}, "unknown policy 'no_such_policy'"),
        ({"policy": {"name": "ucb", "params": {"beta": "high"}}}, "beta"),
        ({"model": "no_such_model"}, "no_such_model"),
        ({"budget": 0}, "budget must be between 1 and 289, got 0"),
        ({"budget": 290}, "budget must be between 1 and 289, got 290"),
        ({"budget": 12.0}, "budget must be an int"),
        ({"budget": True}, "budget must be an int"),
        ({"n_seed": 13}, r"n_seed must be between 1 and 12, got 13"),
        ({"n_seed": 0}, r"n_seed must be between 1 and 12, got 0"),
        ({"patch_size": 25}, r"patch_size must be between 1 and min\(H, W\) = 24, got 25"),
        ({"patch_size": 0}, "patch_size must be between 1"),
        ({"stride": 0}, "stride must be >= 1"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"seed": "0"}, "seed must be an int"),
        ({"map_every": -1}, "map_every must be >= 0"),
        ({"stop": "soon"}, "stop must be a dict"),
        ({"md": ["not", "a", "dict"]}, "md must be a dict"),
        ({"md": {"obj": object()}}, "md must be JSON-serialisable"),
        ({"seed_points": [[0, 0], [99, 0]]}, r"inside 24x24, got \[99, 0\]"),
        ({"seed_points": [[12, 12], [12, 12]]}, "repeated candidates"),
        ({"seed_points": []}, "non-empty list"),
    ],
)
def test_dkl_explore_rejects_bad_arguments_when_built(tiny_mic, change, match):
    kwargs = {**GOOD, **change}
    with pytest.raises(ValueError, match=match):
        plans.dkl_explore(tiny_mic, **kwargs)  # no iteration: the plain function raises


def test_errors_are_input_data_errors(tiny_mic):
    with pytest.raises(InputDataError):
        plans.dkl_explore(tiny_mic, "no_such_scalarizer")


def test_device_without_the_needed_parts_is_rejected(tiny_mic):
    with pytest.raises(ValueError, match="lacks probe.x, probe.y, structure, spectrometer"):
        plans.dkl_explore(tiny_mic.probe, CENTROID)
    with pytest.raises(ValueError, match="has no structure"):
        plans.acquire_structure(tiny_mic.probe)


@pytest.mark.parametrize(
    ("plan", "kwargs", "match"),
    [
        (plans.raster_spectra, {"stride": 0}, "stride must be >= 1"),
        (plans.raster_spectra, {"budget": 0}, "budget must be between"),
        (plans.random_spectra, {"seed": 1.5}, "seed must be an int"),
        (plans.random_spectra, {"patch_size": 30}, "patch_size must be between"),
        (plans.direct_spectra, {"detector": "hough"}, "detector must be 'log' or 'peaks'"),
        (plans.direct_spectra, {"threshold": 0.0}, "threshold must be a positive number"),
        (plans.direct_spectra, {"threshold": 2.0}, "threshold <= 1"),
        (plans.direct_spectra, {"min_sigma": 3.0, "max_sigma": 2.0}, "max_sigma >= min_sigma"),
        (plans.direct_spectra, {"min_distance": 0}, "min_distance must be >= 1"),
    ],
)
def test_baselines_reject_bad_arguments_when_built(tiny_mic, plan, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plan(tiny_mic, CENTROID, **{"budget": 9, "patch_size": 8, **kwargs})


def test_plan_message_list_without_a_run_engine(tiny_mic):
    """Listed without a RunEngine the plan takes the image, then closes the run cleanly."""
    msgs = list(plans.dkl_explore(tiny_mic, CENTROID, budget=12, n_seed=4, patch_size=8, seed=3))
    commands = [(m.command, getattr(m.obj, "name", None)) for m in msgs]
    assert commands == [
        ("stage", "microscope"),
        ("open_run", None),
        ("rewindable", None),
        ("rewindable", None),
        ("trigger", "microscope_structure"),
        ("wait", None),
        ("create", None),
        ("read", "microscope_structure"),
        ("read", "geometry"),
        ("save", None),
        ("rewindable", None),
        ("close_run", None),
        ("unstage", "microscope"),
    ]
    md = msgs[1].kwargs
    assert md["plan_name"] == "dkl_explore"
    assert md["plan_args"]["microscope"] == "microscope"
    ns = md["autoscope"]
    assert ns["scalarizer"] == CENTROID
    assert ns["policy"]["name"] == "ei"
    assert ns["recommender"] == {
        "patch_size": 8, "stride": 1, "policy": ns["policy"], "seed": 3, "model": ns["model"],
        "calibration": "reported",
    }  # fmt: skip
    assert ns["candidates_shape"] == [289, 2]
    assert ns["budget"] == 12 and ns["n_seed"] == 4 and len(set(ns["seed_ids"])) == 4
    assert ns["instrument"]["sample"]["kind"] == "tiny"
    assert ns["keys"]["spectrum"] == "microscope_spectrometer_spectrum"
    assert len(ns["axis"]) == 64 and ns["axis_units"] == "eV"
    assert md["hints"] == {"dimensions": [[["point_step"], "primary"]]}


def test_user_metadata_wins_and_is_not_mutated(tiny_mic):
    md = {"plan_name": "mine", "operator": "ada"}
    msgs = list(plans.dkl_explore(tiny_mic, CENTROID, budget=4, n_seed=2, patch_size=8, md=md))
    start = msgs[1].kwargs
    assert start["plan_name"] == "mine" and start["operator"] == "ada"
    assert md == {"plan_name": "mine", "operator": "ada"}


def test_seed_is_drawn_and_stored_when_omitted(tiny_mic):
    a = list(plans.dkl_explore(tiny_mic, CENTROID, budget=4, n_seed=2, patch_size=8))[1].kwargs
    b = list(plans.dkl_explore(tiny_mic, CENTROID, budget=4, n_seed=2, patch_size=8))[1].kwargs
    assert isinstance(a["autoscope"]["seed"], int)
    assert a["autoscope"]["seed"] != b["autoscope"]["seed"]


def test_seed_points_snap_to_the_nearest_candidate(tiny_mic):
    plan = plans.dkl_explore(
        tiny_mic, CENTROID, budget=4, patch_size=8, seed_points=[[0, 0], [12, 13]]
    )
    ns = list(plan)[1].kwargs["autoscope"]
    # candidates are rows/cols 4..20 (17 per row): (0, 0) -> (4, 4) = id 0; (12, 13) -> id 8*17+9
    assert ns["seed_ids"] == [0, 8 * 17 + 9]
    assert ns["n_seed"] == 2
