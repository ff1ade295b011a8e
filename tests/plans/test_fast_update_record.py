"""dkl_explore with the fast update path records its schedule in the decisions stream."""

from __future__ import annotations

from autoscope import plans, trace
from autoscope.replay import counterfactual

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
FAST = {"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5, "refit_every": 3}}


def test_the_update_schedule_is_stored_and_replayed(module_catalog, runner):
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    mic = SimMicroscope(TinySample(shape=(16, 16), seed=0), seed=0)
    plan = plans.dkl_explore(mic, CENTROID, "ei", budget=14, n_seed=4, patch_size=6, seed=1,
                             model=FAST)  # fmt: skip
    uid, _ = runner(plan, module_catalog)
    tr = trace.load(uid, module_catalog)
    made = [d for d in tr.decisions if d["chosen_id"] >= 0]
    updates = [d["update"] for d in made]
    assert len(made) == 10 and set(updates) == {"train", "condition"}
    assert updates[0] == "train" and "condition" in updates[1:3]
    # a retrain says why; a conditioned decision needs no reason and is the model's own
    assert all(d["update_trigger"] for d in made if d["update"] == "train")
    assert all(d["fallback"] == 0 for d in made)
    # the schedule is deterministic: a replay with the run's own specs makes the same choices
    assert counterfactual(tr).chosen_ids == [d["chosen_id"] for d in made]
