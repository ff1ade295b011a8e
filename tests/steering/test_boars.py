"""BOARS: the target's maths and decay, the voters, and a closed loop against random sampling."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from autoscope.errors import InputDataError
from autoscope.steering import (
    BOARS,
    CallableVoter,
    SimulatedExpert,
    SteeringSession,
    TerminalVoter,
    loop_symmetry,
    sparkline,
)

AXIS = np.linspace(0.0, 10.0, 64)


def peak(e0, width=0.5):
    return np.exp(-((AXIS - e0) ** 2) / (2 * width**2))


def pearson(a, b):
    a = np.asarray(a) - np.mean(a, axis=-1, keepdims=True)
    b = np.asarray(b) - np.mean(b)
    return (a @ b) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b))


def test_target_is_the_decayed_vote_weighted_mean():
    votes = iter([2, 1, 0, 2])
    b = BOARS(lambda s, a, info: next(votes), tau=10.0, min_weight=0.0)
    spectra = [peak(4.0), peak(5.0), peak(8.0), peak(6.0)]
    steps = [0, 5, 6, 20]
    recs = [b.offer(s, AXIS, step=t, candidate_id=t) for s, t in zip(spectra, steps, strict=True)]
    w = np.array([2 * 1.0, 1 * math.exp(-0.5), 0.0, 2 * math.exp(-2.0)])
    want = (w[:, None] * np.array(spectra)).sum(0) / w.sum()
    np.testing.assert_allclose(b.target, want, rtol=1e-12)
    assert [r["weight"] for r in recs] == pytest.approx(w.tolist())
    assert [r["changed"] for r in recs] == [True, True, False, True]
    assert b.scalarizer_spec() == {
        "name": "similarity",
        "params": {"target": want.tolist(), "metric": "cosine"},
    }
    assert b.targets().shape == (4, 64)


def test_every_k_min_weight_no_vote_and_normalize():
    asked = []

    def voter(s, a, info):
        asked.append(info["step"])
        return None if info["step"] == 2 else 2

    b = BOARS(voter, every=2, tau=10.0, min_weight=0.2, normalize="max")
    for step in range(20):
        b.offer(3.0 * peak(5.0), AXIS, step=step)
    # every 2nd spectrum, until exp(-t/10) < 0.2, i.e. t > 16.09
    assert asked == [0, 2, 4, 6, 8, 10, 12, 14, 16]
    assert [r["vote"] for r in b.history][:2] == [2, -1]
    np.testing.assert_allclose(b.target, peak(5.0) / peak(5.0).max(), rtol=1e-12)  # max 1
    assert b.active(16) and not b.active(17)


def test_no_target_before_a_positive_vote_and_bad_inputs():
    b = BOARS(lambda s, a, info: 0)
    b.offer(peak(5.0), AXIS, step=0)
    assert b.target is None and b.scalarizer_spec() is None
    with pytest.raises(InputDataError, match="spectrum shape \\(3,\\) differs from \\(64,\\)"):
        b.offer(np.ones(3), AXIS, step=1)
    with pytest.raises(
        InputDataError, match="a vote is 0 \\(bad\\), 1 \\(neutral\\), 2 \\(good\\)"
    ):
        BOARS(lambda s, a, info: 3).offer(peak(5.0), AXIS, step=0)
    for kw, msg in [
        ({"every": 0}, "every must be an int >= 1"),
        ({"tau": 0}, "tau must be a positive number"),
        ({"min_weight": 1.0}, "min_weight must be in \\[0, 1\\)"),
        ({"metric": "l1"}, "metric must be"),
        ({"normalize": "sum"}, "normalize must be one of"),
    ]:
        with pytest.raises(InputDataError, match=msg):
            BOARS(lambda s, a, i: 1, **kw)


def test_target_converges_to_the_experts_shape():
    """Votes from an expert who likes a peak at 5 eV: the target ends near it."""
    rng = np.random.default_rng(0)
    expert = SimulatedExpert(peak(5.0), good=0.8, bad=0.1)
    b = BOARS(expert, tau=1e6)
    offered = [peak(e0) for e0 in rng.uniform(3.0, 7.0, size=60)]
    for step, spectrum in enumerate(offered):
        b.offer(spectrum, AXIS, step=step)
    rho = pearson(b.targets(), peak(5.0))
    assert rho[-1] > 0.9 > pearson(np.mean(offered, axis=0), peak(5.0)) + 0.2
    assert abs(AXIS[np.argmax(b.target)] - 5.0) < 0.25


def test_sparkline_and_terminal_voter(tmp_path):
    assert sparkline([1.0, np.nan, 3.0]) == "▁ █"
    assert sparkline(np.arange(128.0), width=8) == "▁▂▃▄▅▆▇█"
    assert sparkline(np.ones(4)) == "▁▁▁▁"
    out = io.StringIO()
    voter = TerminalVoter(stdin=io.StringIO("maybe\n g \n"), stdout=out, png_dir=tmp_path)
    info = {"step": 7, "row": 2, "col": 3, "target": peak(5.0), "human_weight": 0.5}
    assert voter(peak(4.0), AXIS, info) == 2
    text = out.getvalue()
    assert "step 7 at (row 2, col 3); human weight 0.50" in text
    assert "unknown key 'maybe'" in text and "target   " in text
    assert (tmp_path / "vote_7.png").stat().st_size > 1000
    assert TerminalVoter(stdin=io.StringIO(""), stdout=io.StringIO())(peak(4.0), AXIS) is None
    tries = TerminalVoter(stdin=io.StringIO("x\ny\nz\n2\n"), stdout=io.StringIO(), max_tries=3)
    assert tries(peak(4.0), AXIS) is None
    assert TerminalVoter(stdin=io.StringIO("0\n"), stdout=io.StringIO())(peak(4.0), AXIS) == 0


def test_callable_voter_and_simulated_expert():
    assert CallableVoter(lambda s: 1, takes_info=False)(peak(5.0), AXIS) == 1
    with pytest.raises(InputDataError, match="a vote is 0"):
        CallableVoter(lambda s, a, i: "good")(peak(5.0), AXIS)
    expert = SimulatedExpert(peak(5.0), good=0.8, bad=0.3)
    # Pearson of two Gaussians (sigma 0.5 eV) d eV apart ~ exp(-d^2): 0.2 -> good, 0.8 -> neutral
    assert [expert(peak(e), AXIS) for e in (5.2, 5.8, 7.0)] == [2, 1, 0]
    noisy = SimulatedExpert(peak(5.0), noise=0.5, rng=np.random.default_rng(1))
    assert len({noisy(peak(5.6), AXIS) for _ in range(40)}) >= 2
    with pytest.raises(InputDataError, match="exactly one of preferred"):
        SimulatedExpert()
    with pytest.raises(InputDataError, match="need good > bad"):
        SimulatedExpert(peak(5.0), good=0.2, bad=0.3)


def test_loop_symmetry_prefers_symmetric_loops():
    t = np.linspace(0, 1, 64, endpoint=False)
    bias = np.interp(t, [0, 0.25, 0.75, 1.0], [0, 1, -1, 0])  # 0 -> +V -> -V -> 0
    up = np.gradient(bias) > 0

    def loop(imprint):
        return np.where(
            up, np.tanh(8 * (bias - 0.3 - imprint)), np.tanh(8 * (bias + 0.3 - imprint))
        )

    assert loop_symmetry(loop(0.0), bias) == pytest.approx(1.0, abs=1e-6)
    assert loop_symmetry(loop(0.4), bias) < 0.8
    expert = SimulatedExpert(score=loop_symmetry, good=0.95, bad=0.5)
    assert expert(loop(0.0), bias) == 2 and expert(loop(0.6), bias) == 0
    with pytest.raises(InputDataError, match="rises and falls"):
        loop_symmetry(np.ones(5), np.arange(5.0))


def _boars_run(seed, budget=40, n_seed=6, top_fraction=0.03):
    from autoscope.recommender import DKLRecommender
    from autoscope.testing import TinySample

    tiny = TinySample(shape=(24, 24), seed=seed)
    template = np.exp(-((tiny.axis - 5.0) ** 2) / (2 * 0.5**2))
    model = {"name": "dkl", "params": {"n_iter": 30, "warm_iter": 5}}
    rec = DKLRecommender(tiny.image, patch_size=8, policy="ei", seed=seed, model=model)
    cand = rec.candidates
    score = pearson(tiny.spectra(cand[:, 0], cand[:, 1]), template)
    top = set(np.argsort(-score)[: int(top_fraction * len(cand))].tolist())
    boars = BOARS(SimulatedExpert(template, good=0.8, bad=0.1), tau=15.0)
    s = SteeringSession(
        rec, budget=budget, scalarizer=tiny.default_scalarizer, axis=tiny.axis, boars=boars
    )
    rng = np.random.default_rng(seed)
    seeds = [int(i) for i in rng.choice(len(cand), n_seed, replace=False)]
    order = rng.permutation(len(cand))
    random_first = next(i for i, c in enumerate(order) if c in top)
    path = []
    for step in range(budget):
        if step >= n_seed:
            s.boundary(step)
        cid = seeds[step] if step < n_seed else rec.suggest(1)[0]["_id"]
        spectrum = tiny.spectrum(*cand[cid])
        rec.ingest([{"_id": int(cid), "value": s.scalarize(spectrum)}])
        s.measured(cid, spectrum, row=cand[cid][0], col=cand[cid][1])
        path.append(int(cid))
    first = next((i for i, c in enumerate(path) if c in top), budget)
    return first, random_first, pearson(boars.target, template), s


@pytest.mark.slow
def test_boars_run_finds_preferred_spectra_faster_than_random():
    """Median over 5 sample seeds: steps to a top-3% pixel (by similarity to the liked shape)."""
    runs = [_boars_run(seed) for seed in range(5)]
    boars_first = np.median([r[0] for r in runs])
    random_first = np.median([r[1] for r in runs])
    assert boars_first < random_first
    assert np.median([r[2] for r in runs]) > 0.9  # the target came to look like the template
    kinds = {a["who"] for r in runs for a in r[3].applied}
    assert kinds == {"boars"}
