"""Applying interventions to a live recommender at a step boundary, through the session."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import scalarizers
from autoscope.errors import InputDataError
from autoscope.steering import (
    RunState,
    SteeringSession,
    apply_intervention,
    make_intervention,
    replace_values,
)
from autoscope.testing import FakeRecommender

SEEDS = [0, 30, 60, 90, 120]


def _session(rec, tiny, budget=30):
    return SteeringSession(rec, budget=budget, scalarizer=tiny.default_scalarizer, axis=tiny.axis)


def _run(rec, session, measure, steps, plan=None):
    """Measure the seeds, then ``steps`` decisions; ``plan[step]`` = records applied then."""
    for cid in SEEDS:
        measure(rec, session, cid)
    chosen, step = [], len(SEEDS)
    for _ in range(steps):
        session.boundary(step, (plan or {}).get(step, []))
        forced = session.next_forced()
        cid = forced[0] if forced else rec.suggest(1)[0]["_id"]
        measure(rec, session, cid)
        chosen.append(int(cid))
        step += 1
    return chosen


def test_exclude_then_policy_switch_keeps_model(make_rec, tiny, measure):
    rec = make_rec("ei")
    s = _session(rec, tiny)
    exclude = make_intervention("exclude", {"region": {"rows": [3, 9]}}, seq=1)
    ucb = make_intervention("policy", {"spec": "ucb", "beta": 4.0}, seq=2)
    _run(rec, s, measure, 2)
    model = rec.model
    fits = model.n_fits
    chosen = _run(rec, s, measure, 4, {7: [exclude, ucb]})[2:]  # decisions after the boundary
    assert rec.model is model and model.n_fits > fits  # same model object, warm-started on
    assert all(rec.candidates[c, 0] >= 9 for c in chosen[-4:])
    assert rec.policy.spec == {"name": "ucb", "params": {"beta": 4.0, "maximize": True}}
    kinds = [(a["kind"], a["step"]) for a in s.applied]
    assert kinds == [("exclude", 7), ("policy", 7)]
    assert s.applied[0]["new"]["n_excluded"] == int((rec.candidates[:, 0] < 9).sum()) == 66
    assert s.applied[1]["old"] == {"name": "ei", "params": {"maximize": True}}


def test_temporary_exploration_switches_back(make_rec, tiny, measure):
    rec = make_rec("ei")
    s = _session(rec, tiny)
    explore = make_intervention("policy", {"spec": "maxvar", "steps": 2}, seq=1)
    _run(rec, s, measure, 4, {5: [explore]})
    assert [(a["kind"], a["who"], a["step"]) for a in s.applied] == [
        ("policy", "operator", 5),
        ("policy", "schedule", 7),
    ]
    assert s.applied[1]["params"]["revert"] and s.applied[1]["seq"] < 0
    assert rec.policy.spec["name"] == "ei" and s.state.revert is None


def test_permanent_policy_cancels_scheduled_revert(make_rec, tiny):
    rec = make_rec("ei")
    state = RunState(budget=10)
    apply_intervention(
        rec, make_intervention("policy", {"spec": "maxvar", "steps": 3}), state, step=5
    )
    assert state.revert == {"at": 8, "spec": {"name": "ei", "params": {"maximize": True}}}
    apply_intervention(
        rec, make_intervention("policy", {"spec": "exploit", "steps": 1}), state, step=6
    )
    assert state.revert["at"] == 7 and state.revert["spec"]["name"] == "ei"  # back to the original
    apply_intervention(rec, make_intervention("policy", {"spec": "ucb"}), state, step=6)
    assert state.revert is None and rec.policy.spec["name"] == "ucb"


def test_costs_boost_keep_layers_and_boost_picks(make_rec, tiny, measure):
    rec = make_rec("ei")
    s = _session(rec, tiny)
    corner = {"rows": [13, 14], "cols": [3, 4]}  # one candidate (id 110), far from the blob
    plan = {
        5: [
            make_intervention(
                "costs", {"travel": 0.01, "dwell_map": np.full((16, 16), 2.0)}, seq=1
            ),
            make_intervention("boost", {"region": corner, "weight": 5.0}, seq=2),
            make_intervention("policy", {"spec": "ucb"}, seq=3),
        ]
    }
    chosen = _run(rec, s, measure, 1, plan)
    assert tuple(rec.candidates[chosen[0]]) == (13, 3)  # the boost wins
    spec = rec.policy.spec
    assert spec["name"] == "boosted" and spec["params"]["ids"] == [chosen[0]]
    assert spec["params"]["base"]["name"] == "cost_aware"
    assert spec["params"]["base"]["params"]["base"]["name"] == "ucb"
    assert spec["params"]["base"]["params"]["travel_weight"] == 0.01
    assert s.applied[0]["new"]["dwell_map_set"] is True


def test_rescalarize_replaces_every_value_and_ingests_late(make_rec, tiny, measure):
    rec = make_rec("ei")
    s = _session(rec, tiny)
    for cid in SEEDS:
        measure(rec, s, cid)
    # a point measured while its value was NaN is not ingested
    s.measured(7, np.full(tiny.axis.size, np.nan), row=3, col=10)
    s.measured(8, tiny.spectrum(3, 11), row=3, col=11)
    assert rec.measured_ids == SEEDS
    band = {"name": "band_integral", "params": {"low": 4.0, "high": 6.0}}
    out = apply_intervention(rec, make_intervention("scalarizer", {"spec": band}), s.state, step=7)
    sc = scalarizers.from_spec(band)
    want = [sc(tiny.spectrum(*rec.candidates[c]), tiny.axis) for c in SEEDS]
    assert rec.measured_ids == [*SEEDS, 8]
    np.testing.assert_allclose(rec.values[:5], want, rtol=1e-12)
    assert out["old"] == tiny.default_scalarizer and out["new"]["spec"] == band
    assert (out["new"]["n_rescalarized"], out["new"]["n_nan"]) == (7, 1)
    assert s.scalarize(tiny.spectrum(5, 5)) == pytest.approx(sc(tiny.spectrum(5, 5), tiny.axis))
    with pytest.raises(InputDataError, match="needs the run's spectra and axis"):
        apply_intervention(rec, make_intervention("scalarizer", {"spec": band}))


def test_prior_force_budget_stop(make_rec, tiny, measure):
    rec = make_rec("ei")
    s = _session(rec, tiny, budget=12)
    plan = {
        5: [
            make_intervention("prior", {"points": [{"row": 8, "col": 8, "value": 9.0}]}, seq=1),
            make_intervention("force", {"points": [[3, 4], 119, 0]}, seq=2),  # 0 is a seed
            make_intervention("budget", {"delta": 8}, seq=3),
        ],
        8: [make_intervention("stop", {"reason": "enough"}, seq=4)],
    }
    chosen = _run(rec, s, measure, 4, plan)
    prior_id = int(np.flatnonzero((rec.candidates == [8, 8]).all(axis=1))[0])
    assert rec.measured_ids[5] == prior_id and rec.values[5] == 9.0
    assert chosen[:2] == [1, 119]  # pixel (3, 4) is candidate 1; seed 0 is skipped
    assert s.budget == 20 and s.stop == "enough"
    assert s.applied[1]["new"] == [1, 119, 0]
    assert chosen[2] not in (0, 1, 119)


def test_rejected_intervention_is_recorded_not_raised(make_rec, tiny):
    rec = make_rec("ei")
    s = _session(rec, tiny)
    bad = make_intervention("exclude", {"region": {"ids": [500]}}, seq=1)
    applied, _ = s.boundary(5, [bad, make_intervention("stop", {}, seq=2, who="bo")])
    assert "region ids must lie in [0, 121)" in applied[0]["new"]["rejected"]
    assert applied[1]["new"] == "stopped by bo" and s.last_seq == 2
    assert s.boundary(6, [bad])[0] == []  # seq 1 was handled already


def test_fake_recommender_supports_the_minimal_kinds():
    rec = FakeRecommender((5, 5), seed=0)
    state = RunState(budget=5, scalarizer={"name": "centroid", "params": {}}, axis=np.arange(4.0))
    rec.ingest([{"_id": 3, "value": 1.0}])
    replace_values(rec, [2.5])
    assert rec.ingested[0]["value"] == 2.5
    out = apply_intervention(rec, make_intervention("force", {"points": [[4, 4]]}), state, step=1)
    assert out["new"] == [24] and state.forced == [24]
    with pytest.raises(InputDataError, match="FakeRecommender has no settable policy"):
        apply_intervention(rec, make_intervention("policy", {"spec": "ucb"}))
    with pytest.raises(InputDataError, match="FakeRecommender has no exclude"):
        apply_intervention(rec, make_intervention("exclude", {"region": {"ids": [1]}}))
    with pytest.raises(InputDataError, match="need 1 values"):
        replace_values(rec, [1.0, 2.0])
