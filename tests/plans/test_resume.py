"""dkl_resume: a run that crashed mid-way is finished in a new, linked run; the pair replays."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import plans, trace
from autoscope.errors import InputDataError
from autoscope.recommender import DKLRecommender, ExplorationSession
from autoscope.storage import make_writer

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
FAST = {"name": "dkl", "params": {"n_iter": 15, "warm_iter": 4}}
BUDGET = 12


class Crash:
    """A callback that raises at the ``n``-th ``primary`` event: the run dies there."""

    def __init__(self, n):
        self.n, self.seen, self.primary = n, 0, set()

    def __call__(self, name, doc):
        if name == "descriptor" and doc["name"] == "primary":
            self.primary.add(doc["uid"])
        if name == "event" and doc["descriptor"] in self.primary:
            self.seen += 1
            if self.seen == self.n:
                raise RuntimeError("simulated crash")


@pytest.fixture(scope="module")
def crashed_and_resumed(module_catalog, runner):
    """A dkl_explore run killed at its 7th spectrum, then resumed with a fresh instrument."""
    import asyncio

    from bluesky import RunEngine

    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    try:
        engine.subscribe(make_writer(module_catalog))
        engine.subscribe(Crash(7))
        mic = SimMicroscope(TinySample(seed=0), seed=1)
        plan = plans.dkl_explore(mic, CENTROID, budget=BUDGET, n_seed=4, patch_size=8, seed=3,
                                 model=FAST, map_every=2)  # fmt: skip
        with pytest.raises(RuntimeError, match="simulated crash"):
            engine(plan)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    old = trace.load(-1, module_catalog)
    fresh = SimMicroscope(TinySample(seed=0), seed=2)
    uid, col = runner(plans.dkl_resume(fresh, old), module_catalog)
    return old, trace.load(uid, module_catalog), col


def test_the_resumed_run_finishes_the_budget_never_measuring_twice(crashed_and_resumed):
    old, new, col = crashed_and_resumed
    assert old.stop["exit_status"] == "fail" and 4 < old.n_measured < BUDGET
    assert new.specs["resumed_from"] == old.uid and new.specs["budget"] == BUDGET
    assert new.specs["plan"] == "dkl_resume" and new.specs["seed_ids"] == old.specs["seed_ids"]
    assert new.specs["history"]["measured_ids"] == old.measured_ids
    ids = old.measured_ids + new.measured_ids
    assert len(ids) == BUDGET == len(set(ids))
    assert list(new.steps) == list(range(old.n_measured, BUDGET))  # numbering goes on
    assert new.stop["exit_status"] == "success" and new.stop["reason"] == "budget"
    assert set(new.phases) == {"dkl"}


def test_the_pair_replays_to_the_same_decisions(crashed_and_resumed):
    old, new, _ = crashed_and_resumed
    ids = old.measured_ids + new.measured_ids
    values = list(old.values) + list(new.values)
    rec = DKLRecommender(np.asarray(old.image, dtype=float), **old.specs["recommender"])
    session = ExplorationSession(rec, len(old.candidates), BUDGET, seed_ids=old.specs["seed_ids"])
    steps = session.catch_up(ids, values)
    decided = [st for st in steps if st.phase == "dkl"]
    assert [st.suggested for st in decided] == ids[4:]
    chosen = [d["chosen_id"] for d in old.decisions + new.decisions if d["chosen_id"] >= 0]
    assert chosen == ids[4:]
    stored = [d["acq_value"] for d in old.decisions + new.decisions if d["chosen_id"] >= 0]
    assert np.allclose([st.fields["acq_value"] for st in decided], stored)


def test_resume_refuses_what_it_cannot_finish(crashed_and_resumed, tiny_mic):
    old, new, _ = crashed_and_resumed
    with pytest.raises(InputDataError, match="resume the original run"):
        plans.dkl_resume(tiny_mic, new)
    done = type(old)(**{**old.__dict__, "measured_ids": list(range(BUDGET))})
    with pytest.raises(InputDataError, match="nothing to resume"):
        plans.dkl_resume(tiny_mic, done)
    raster = type(old)(**{**old.__dict__, "specs": {**old.specs, "plan": "raster_spectra"}})
    with pytest.raises(InputDataError, match="only a dkl_explore run can be resumed"):
        plans.dkl_resume(tiny_mic, raster)


def test_counterfactual_refuses_a_resumed_run_clearly(crashed_and_resumed):
    from autoscope.replay import counterfactual

    _, new, _ = crashed_and_resumed
    with pytest.raises(InputDataError, match="resumes run"):
        counterfactual(new)
