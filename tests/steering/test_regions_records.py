"""Regions, intervention records and policy layers: exact selections and exact errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autoscope import policies
from autoscope.errors import InputDataError
from autoscope.steering import (
    compose_policy,
    decode_record,
    make_intervention,
    normalize_region,
    policy_layers,
    resolve_region,
)

GRID = np.column_stack(np.divmod(np.arange(100), 10)) + 3  # centres (3..12, 3..12)


def test_box_pixels_mask_center_ids():
    box = resolve_region({"rows": [3, 5], "cols": [10, 20]}, GRID)
    assert [tuple(GRID[i]) for i in box] == [(3, 10), (3, 11), (3, 12), (4, 10), (4, 11), (4, 12)]
    assert resolve_region({"rows": [3, 4]}, GRID).tolist() == list(range(10))
    mask = np.zeros((16, 16), dtype=bool)
    mask[5, 7] = mask[0, 0] = True  # (0, 0) is no candidate centre
    spec = normalize_region(mask=mask)
    assert spec == {"pixels": [[0, 0], [5, 7]]}
    assert resolve_region(spec, GRID).tolist() == [24]
    disc = resolve_region({"center": [7, 7], "radius": 1.0}, GRID)
    assert sorted(tuple(GRID[i]) for i in disc) == [(6, 7), (7, 6), (7, 7), (7, 8), (8, 7)]
    assert resolve_region({"ids": [5, 15, 95], "rows": [3, 5]}, GRID).tolist() == [5, 15]


def test_like_patches_threshold_and_top():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(100, 4, 4))
    feats[[10, 20, 30]] = 3.0 * feats[0] + 1.0  # same pattern, other offset and contrast
    like = resolve_region({"like": [[3, 3]], "threshold": 0.99}, GRID, feats)
    assert like.tolist() == [0, 10, 20, 30]
    top = resolve_region({"patches": [feats[0] * 0.1 - 5], "top": 2}, GRID, feats)
    assert set(top.tolist()) <= {0, 10, 20, 30} and len(top) == 2
    with pytest.raises(InputDataError, match="need the recommender's features"):
        resolve_region({"like": [[3, 3]]}, GRID)
    with pytest.raises(InputDataError, match="example patch has 9 values, features are"):
        resolve_region({"patches": [np.ones((3, 3))]}, GRID, feats)


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ({}, "a region needs one of"),
        ({"rows": [1, 2, 3]}, "region 'rows' must be a pair of ints"),
        ({"box": [1, 2]}, "unknown region key"),
        ({"center": [1, 1]}, "'center' and 'radius' go together"),
        ({"rows": [0, 2], "threshold": 0.5}, "'threshold' only goes with 'like' or 'patches'"),
        ({"like": [[1, 1]], "threshold": 2.0}, "correlation in \\[-1, 1\\]"),
        ({"mask": np.ones(4)}, "'mask' must be an \\(H, W\\) bool array"),
    ],
)
def test_bad_regions(region, message):
    with pytest.raises(InputDataError, match=message):
        normalize_region(region)


def test_region_ids_out_of_range():
    with pytest.raises(InputDataError, match="region ids must lie in \\[0, 100\\), got 5..100"):
        resolve_region({"ids": [5, 100]}, GRID)


def test_make_intervention_normalises_every_kind():
    pol = make_intervention("policy", {"spec": "ucb", "beta": 2.0, "steps": 3}, who="ana", seq=4)
    assert pol["params"] == {
        "spec": {"name": "ucb", "params": {"beta": 2.0, "maximize": True}},
        "steps": 3,
        "revert": False,
    }
    assert (pol["seq"], pol["who"], pol["kind"]) == (4, "ana", "policy")
    sc = make_intervention(
        "scalarizer", {"spec": {"name": "band_integral", "params": {"low": 1, "high": 2}}}
    )
    assert sc["params"]["spec"] == {"name": "band_integral", "params": {"low": 1, "high": 2}}
    assert make_intervention("force", {"points": [(3, 4), np.int64(7)]})["params"] == {
        "points": [[3, 4], 7]
    }
    assert make_intervention("budget", {"delta": -5})["params"] == {"delta": -5}
    prior = make_intervention("prior", {"points": [{"row": 3, "col": 4, "value": 1}]})
    assert prior["params"]["points"] == [{"row": 3, "col": 4, "value": 1.0}]
    boost = make_intervention("boost", {"region": {"rows": (0, 2)}})
    assert boost["params"] == {"region": {"rows": [0, 2]}, "weight": 1.0, "clear": False}
    json.dumps([pol, sc, prior, boost])


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("teleport", {}, "unknown intervention kind 'teleport'"),
        ("policy", {"spec": "nope"}, "unknown policy 'nope'"),
        ("policy", {"spec": "ucb", "steps": 0}, "steps must be an int >= 1"),
        (
            "policy",
            {"spec": {"name": "ucb"}, "beta": 1},
            "extra params \\['beta'\\] need a policy name",
        ),
        ("scalarizer", {"spec": "no_such"}, "no_such"),
        ("exclude", {"region": [0, 1]}, "needs a region dict"),
        ("boost", {"region": {"ids": [1]}, "weight": -1}, "weight must be a number >= 0"),
        ("prior", {"points": [{"row": 1, "value": 2.0}]}, "each point is"),
        ("prior", {"points": [{"_id": 1, "value": float("nan")}]}, "finite number"),
        ("costs", {}, "give travel, dwell and/or dwell_map"),
        ("costs", {"travel": -0.1}, "travel must be a number >= 0"),
        ("budget", {"delta": 1, "total": 3}, "exactly one of delta or total"),
        ("budget", {"total": -3}, "total must be an int >= 0"),
        ("budget", {"delta": 1.5}, "delta must be an int"),
        ("force", {"points": [[1, 2, 3]]}, "each point is a candidate id or \\[row, col\\]"),
        ("stop", {"why": "x"}, "unknown parameter\\(s\\) \\['why'\\]"),
    ],
)
def test_make_intervention_rejects(kind, params, message):
    with pytest.raises(InputDataError, match=message):
        make_intervention(kind, params)


def test_decode_record_reads_stream_rows():
    row = {
        "intervention_seq": 3,
        "intervention_action": "exclude",
        "intervention_what": json.dumps({"region": {"rows": [0, 4]}}),
        "intervention_old": json.dumps({"n_excluded": 0}),
        "intervention_new": json.dumps({"ids": [1, 2], "n_excluded": 2}),
        "intervention_step": 7,
        "time": 1.0,
    }
    r = decode_record(row)
    assert (r["kind"], r["seq"], r["step"]) == ("exclude", 3, 7)
    assert r["params"] == {"region": {"rows": [0, 4]}} and r["new"]["n_excluded"] == 2
    with pytest.raises(InputDataError, match="not an intervention record"):
        decode_record({"kind": "dance"})


def test_policy_layers_roundtrip_and_boost_score():
    spec = compose_policy(
        "ucb",
        {"travel_weight": 0.1, "dwell_weight": 0.0, "normalize": True},
        {"ids": [2], "weight": 1.0},
    )
    assert spec["name"] == "boosted"
    assert spec["params"]["base"]["name"] == "cost_aware"
    core, cost, boost = policy_layers(spec)
    assert core == {"name": "ucb", "params": {"beta": 4.0, "maximize": True}}
    assert cost["travel_weight"] == 0.1 and boost == {"ids": [2], "weight": 1.0}
    assert compose_policy("ei", {"travel_weight": 0.0, "dwell_weight": 0.0}, {"ids": []}) == {
        "name": "ei",
        "params": {"maximize": True},
    }
    pol = policies.from_spec(
        {"name": "boosted", "params": {"base": "exploit", "ids": [0], "weight": 0.5}}
    )
    ctx = policies.DecisionContext(
        mean=np.array([0.0, 1.0, 2.0]),
        var=np.ones(3),
        observed=np.array([0.0]),
        available=np.ones(3, dtype=bool),
        rng=np.random.default_rng(0),
    )
    assert pol.score(ctx).tolist() == [0.5, 0.5, 1.0]  # normalised mean + 0.5 on id 0
    with pytest.raises(InputDataError, match="cannot wrap another 'boosted'"):
        policies.from_spec({"name": "boosted", "params": {"base": pol.spec}})
