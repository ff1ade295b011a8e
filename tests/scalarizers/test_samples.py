"""Scalarizers on the simulated samples: default truth maps, and physics recovered from them."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import scalarizers

sim = pytest.importorskip("autoscope.sim")
SHAPE = (16, 16)


@pytest.mark.parametrize("kind", ["stem", "spm", "fourd"])
def test_default_scalarizer_truth_is_finite(kind):
    pytest.importorskip(f"autoscope.sim.{kind}")
    sample = sim.make_sample(kind, shape=SHAPE, seed=0)
    sc = scalarizers.from_spec(sample.default_scalarizer)
    sc.validate(sample.axis, sample.spectrum_shape)
    truth = sample.truth(sample.default_scalarizer)
    assert truth.shape == SHAPE
    assert np.all(np.isfinite(truth))
    assert np.ptp(truth) > 0  # the map has contrast
    r, c = 3, 11
    assert truth[r, c] == pytest.approx(sc(sample.spectrum(r, c), sample.axis), rel=1e-9)


def test_spm_loops_give_back_coercive_field_imprint_and_remanence():
    pytest.importorskip("autoscope.sim.spm")
    s = sim.make_sample("spm", shape=(24, 24), seed=1)
    step = float(np.max(np.abs(np.diff(s.axis))))
    width = s.truth({"name": "coercive_field", "params": {"which": "width"}})
    assert np.max(np.abs(width / 2 - s.coercive_field)) < step
    assert np.max(np.abs(s.truth("imprint") - s.imprint)) < step
    rem = s.truth({"name": "remanence", "params": {"which": "difference"}})
    np.testing.assert_allclose(rem / 2, s.remanence, rtol=0.02)


def test_spm_ac_sweep_gives_back_poly3_coefficients():
    pytest.importorskip("autoscope.sim.spm")
    s = sim.make_sample("spm", shape=SHAPE, seed=1, spectroscopy="ac_sweep")
    for k in ("A", "B", "C"):
        got = s.truth({"name": "poly3", "params": {"coefficient": k}})
        np.testing.assert_allclose(got, s.coefficients[k], rtol=1e-9, atol=1e-12)


def test_stem_edge_plasmon_energy_within_one_channel():
    pytest.importorskip("autoscope.sim.stem")
    s = sim.make_sample("stem", shape=(24, 24), seed=0)
    channel = float(s.axis[1] - s.axis[0])
    spec = {"name": "peak_position", "params": {"low": 4.0, "high": 10.0, "model": "lorentzian"}}
    got = s.truth(spec)
    assert np.max(np.abs(got - s.peak_energy_map)) < channel


def test_fourd_com_gives_back_the_disc_shift():
    pytest.importorskip("autoscope.sim.fourd")
    s = sim.make_sample("fourd", shape=(24, 24), seed=0)
    step = float(s.axis[1] - s.axis[0])
    np.testing.assert_allclose(s.truth("com_x"), s.shift[..., 0], atol=0.02 * step)
    np.testing.assert_allclose(s.truth("com_y"), s.shift[..., 1], atol=0.02 * step)
    np.testing.assert_allclose(
        s.truth("com_magnitude"), np.hypot(s.shift[..., 0], s.shift[..., 1]), atol=0.02 * step
    )
