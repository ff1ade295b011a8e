"""Stored interventions re-applied at the same steps reproduce a steered path exactly."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.steering import (
    BOARS,
    InterventionReplay,
    SimulatedExpert,
    SteeringSession,
    interventions_of,
    make_intervention,
    votes_of,
)


def _stored(record):
    """An applied record as the ``interventions`` stream stores it (prefixed keys, JSON)."""
    return {
        "intervention_seq": record["seq"],
        "intervention_step": record["step"],
        "intervention_who": record["who"],
        "intervention_action": record["kind"],
        "intervention_what": json.dumps(record["params"]),
        "intervention_old": json.dumps(record["old"]),
        "intervention_new": json.dumps(record["new"]),
        "time": 0.0,
    }


def test_replay_reproduces_a_steered_path(make_rec, tiny, measure):
    seeds = [0, 40, 80, 120]
    rec = make_rec("ei")
    expert = SimulatedExpert(tiny.spectrum(6, 6), good=0.9, bad=0.2)
    s = SteeringSession(
        rec,
        budget=14,
        scalarizer=tiny.default_scalarizer,
        axis=tiny.axis,
        boars=BOARS(expert, tau=5.0),
    )
    plan = {
        5: [
            make_intervention("exclude", {"region": {"cols": [3, 7]}}, seq=1),
            make_intervention("policy", {"spec": "ucb", "beta": 1.0, "steps": 2}, seq=2),
        ],
        8: [
            make_intervention(
                "scalarizer",
                {"spec": {"name": "band_integral", "params": {"low": 5.0, "high": 7.0}}},
                seq=3,
            )
        ],
    }
    for cid in seeds:
        measure(rec, s, cid)
    path = list(seeds)
    for step in range(len(seeds), 10):
        s.boundary(step, plan.get(step, []))
        cid = rec.suggest(1)[0]["_id"]
        measure(rec, s, cid)
        path.append(cid)
    assert all(rec.candidates[c, 1] >= 7 for c in path[5:])
    trace = SimpleNamespace(
        measured_ids=path,
        spectra=np.array(s.state.spectra),
        axis=tiny.axis,
        specs={"scalarizer": tiny.default_scalarizer, "budget": 14},
        interventions=[_stored(r) for r in s.applied] + [_stored(s.applied[0])],  # a repeat
    )
    stored = interventions_of(trace)
    assert len(stored) == len(s.applied)  # the repeated event is dropped
    ops = [(r["kind"], r["who"], r["step"]) for r in stored if r["who"] != "boars"]
    assert ops == [
        ("exclude", "operator", 5),
        ("policy", "operator", 5),
        ("policy", "schedule", 7),
        ("scalarizer", "operator", 8),
    ]
    assert any(r["who"] == "boars" for r in stored)  # the expert liked something
    # walk the stored path with a fresh recommender: the same decisions, the same values
    values = _values_in_force(s, trace)
    replay = InterventionReplay(trace)
    rec2 = make_rec("ei")
    for step, cid in enumerate(seeds):
        rec2.ingest([{"_id": cid, "value": values[step]}])
    chosen = []
    for step in range(len(seeds), 10):
        replay.apply_due(rec2, step)
        chosen.append(rec2.suggest(1)[0]["_id"])
        rec2.ingest([{"_id": path[step], "value": values[step]}])
    assert chosen == path[len(seeds) :]
    np.testing.assert_allclose(rec2.values, rec.values, rtol=1e-12)
    assert len(replay.applied) == len(s.applied)


def _values_in_force(session, trace):
    """The value each measurement was recorded with (the scalarizer in force when measured)."""
    from autoscope import scalarizers

    spec, out = trace.specs["scalarizer"], []
    changes = [(r["step"], r["new"]["spec"]) for r in session.applied if r["kind"] == "scalarizer"]
    for k, spectrum in enumerate(trace.spectra):
        for step, new in changes:
            if step <= k:
                spec = new
        out.append(scalarizers.from_spec(spec)(spectrum, trace.axis))
    return out


def test_skip_kinds_and_rejected_records(make_rec):
    rec = make_rec("ei")
    stored = [
        {
            "seq": 1,
            "step": 3,
            "kind": "exclude",
            "who": "a",
            "params": {"region": {"ids": [5]}},
            "old": None,
            "new": {"rejected": "nope"},
        },
        {
            "seq": 2,
            "step": 3,
            "kind": "policy",
            "who": "a",
            "params": {"spec": "ucb"},
            "old": None,
            "new": None,
        },
        {
            "seq": 3,
            "step": 4,
            "kind": "exclude",
            "who": "a",
            "params": {"region": {"ids": [6]}},
            "old": None,
            "new": None,
        },
    ]
    trace = SimpleNamespace(
        measured_ids=[],
        spectra=np.empty((0, 4)),
        axis=np.arange(4.0),
        specs={},
        interventions=stored,
    )
    replay = InterventionReplay(trace, skip=("policy",))
    assert replay.steps() == [3, 3, 4] and len(replay) == 3
    assert replay.apply_due(rec, 3) == []  # rejected one and skipped one
    assert rec.policy.spec["name"] == "ei" and rec.config["excluded"] == []
    assert [r["seq"] for r in replay.apply_due(rec, 10)] == [3]
    assert rec.config["excluded"] == [6]
    with pytest.raises(InputDataError, match="unknown kind\\(s\\) \\['polcy'\\]"):
        InterventionReplay(trace, skip=("polcy",))


def test_votes_of_strips_prefixes():
    rows = [{"vote_step": 2, "vote_value": 1, "vote_target": [1.0, 2.0], "time": 3.0}]
    assert votes_of(rows) == [{"step": 2, "value": 1, "vote": 1, "target": [1.0, 2.0], "time": 3.0}]
    assert votes_of(SimpleNamespace(votes=rows))[0]["vote"] == 1


def test_pure_modules_import_no_ophyd_or_bluesky():
    import subprocess
    import sys

    code = (
        "import sys; import autoscope.steering as s; "
        "from autoscope.steering import history, interventions, records, session, boars, voters; "
        "assert 'ophyd' not in sys.modules and 'bluesky' not in sys.modules, 'leak'; "
        "s.Steering; assert 'ophyd' in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_figures_draw_votes_targets_and_interventions():
    from autoscope.steering import boars_figure, interventions_figure

    axis = np.linspace(0, 1, 8)
    votes = [
        {
            "vote_step": 0,
            "vote_value": 0,
            "vote_weight": 0.0,
            "vote_human_weight": 1.0,
            "vote_target": [np.nan] * 8,
        },
        {
            "vote_step": 1,
            "vote_value": 2,
            "vote_weight": 1.9,
            "vote_human_weight": 0.95,
            "vote_target": list(axis),
        },
        {
            "vote_step": 2,
            "vote_value": 1,
            "vote_weight": 0.9,
            "vote_human_weight": 0.9,
            "vote_target": list(axis**2),
        },
    ]
    tr = SimpleNamespace(
        votes=votes,
        axis=axis,
        values=np.arange(5.0),
        interventions=[
            {
                "seq": 1,
                "step": 3,
                "kind": "policy",
                "who": "ana",
                "params": {"spec": "ucb"},
                "old": None,
                "new": None,
            },
            {
                "seq": 2,
                "step": 3,
                "kind": "exclude",
                "who": "ana",
                "params": {},
                "old": None,
                "new": {"rejected": "bad"},
            },
        ],
    )
    fig = boars_figure(tr)
    ax_votes, ax_target = fig.axes[0], fig.axes[1]
    assert len(ax_target.lines) == 2  # the NaN target before the first good vote is not drawn
    assert ax_votes.collections[0].get_offsets().shape == (3, 2)
    fig = interventions_figure(tr)
    styles = [ln.get_linestyle() for ln in fig.axes[0].lines[1:]]
    assert styles == ["-", "--"]  # the rejected one dashed
