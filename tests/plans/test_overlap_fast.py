"""Overlap and the fast update path together: sliced or background retrains, replayed exactly."""

from __future__ import annotations

from autoscope import plans, trace
from autoscope.replay import counterfactual

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
SLICE = {"refit_every": 3, "refit_slice": 2}
#: FAST_COMMITTEE's shape, small: conditioned between retrains, each retrain 2 steps a decision
MODEL = {
    "name": "committee",
    "params": {
        "members": [
            {"name": "spatial_dkl", "params": {"n_iter": 12, "warm_iter": 4, **SLICE}},
            {"name": "gp_coords", "params": SLICE},
        ]
    },
}


def overlapped_run(catalog, runner, model, budget):
    """Run an overlapped ``dkl_explore`` of ``model`` on a tiny sample; its trace and decisions."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    mic = SimMicroscope(TinySample(shape=(16, 16), seed=0), seed=0)
    plan = plans.dkl_explore(mic, CENTROID, "ei", budget=budget, n_seed=4, patch_size=6, seed=2,
                             model=model, overlap=True)  # fmt: skip
    uid, _ = runner(plan, catalog)
    tr = trace.load(uid, catalog)
    return tr, [d for d in tr.decisions if d["chosen_id"] >= 0]


def test_overlapped_fast_run_conditions_slices_retrains_and_replays(module_catalog, runner):
    tr, made = overlapped_run(module_catalog, runner, MODEL, budget=16)
    assert len(made) == 12 and tr.stop["reason"] == "budget"
    updates = [d["update"] for d in made]
    # the first decision trains; later ones are conditioned while a retrain runs in slices on a
    # copy, which is then swapped in: never a whole retrain inside a decision after the first
    assert updates[0] == "train" and "condition" in updates
    assert any("promote" in u for u in updates), updates
    assert all("train" not in u for u in updates[1:]), updates
    assert all(d["fallback"] == 0 for d in made)  # the committee decided, not a fallback
    for d in made:  # overlapped: the point in flight was pending
        assert d["n_known"] == d["step"] - 1
    assert counterfactual(tr).chosen_ids == tr.chosen_ids


#: FAST_COMMITTEE, small: retrains in the members' trainer threads, swapped in 2 fits later
BACKGROUND = {
    "name": "committee",
    "params": {
        "refit_every": 3,
        "refit_lag": 2,
        "members": [
            {"name": "spatial_dkl", "params": {"n_iter": 12, "warm_iter": 4, "reinit_every": 6}},
            "gp_coords",
        ],
    },
}


def test_overlapped_run_with_background_retrains_records_them_and_replays(module_catalog, runner):
    tr, made = overlapped_run(module_catalog, runner, BACKGROUND, budget=18)
    assert len(made) == 14 and tr.stop["reason"] == "budget"
    updates = [d["update"] for d in made]
    # after the first fit no decision trains: conditioned, or a background copy swapped in
    assert updates[0] == "train"
    assert all(set(u.split("+")) <= {"condition", "promote"} for u in updates[1:]), updates
    promoted = [k for k, u in enumerate(updates) if "promote" in u]
    # started at fit 2 (6 points: grown 1.5x since the first fit) and 5 (3 fits on), swapped 2 later
    assert promoted[:2] == [4, 7], updates
    assert all(d["fallback"] == 0 for d in made)
    # the swaps are at fixed fits: the replay, on another thread timing, chooses the same
    assert counterfactual(tr).chosen_ids == tr.chosen_ids
