"""Target similarity and composition of scalarizers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autoscope import scalarizers

AXIS = np.linspace(0.0, 10.0, 50)
TARGET = np.exp(-((AXIS - 4.0) ** 2))


@pytest.mark.parametrize("metric", ["neg_mse", "cosine", "ssim"])
def test_identical_spectrum_is_most_similar(metric):
    sc = scalarizers.get("similarity", target=TARGET.tolist(), metric=metric)
    best = {"neg_mse": 0.0, "cosine": 1.0, "ssim": 1.0}[metric]
    assert sc(TARGET, AXIS) == pytest.approx(best, abs=1e-12)
    others = [np.exp(-((AXIS - c) ** 2)) for c in (4.5, 6.0, 8.0)]
    values = [sc(o, AXIS) for o in others]
    assert values[0] > values[1] > values[2]  # further peaks are less similar
    assert all(v < best for v in values)
    np.testing.assert_allclose(sc.apply(np.stack(others), AXIS), values, rtol=1e-12)


def test_similarity_known_values():
    t = [1.0, 0.0, 0.0, 0.0]
    s = np.array([0.0, 1.0, 0.0, 0.0])
    ax = np.arange(4.0)
    assert scalarizers.get("similarity", target=t)(s, ax) == pytest.approx(-0.5)
    assert scalarizers.get("similarity", target=t, metric="cosine")(s, ax) == 0.0
    assert scalarizers.get("similarity", target=t, metric="cosine")(3 * np.array(t), ax) == 1.0
    sc = scalarizers.get("similarity", target=t, metric="cosine")
    assert np.isnan(sc(np.zeros(4), ax))
    assert sc.explain(np.zeros(4), ax) == "zero vector: cosine similarity undefined"
    for metric in ("neg_mse", "cosine", "ssim"):
        bad = scalarizers.get("similarity", target=t, metric=metric)
        assert np.isnan(bad(np.array([1.0, np.inf, -np.inf, 0.0]), ax))
        assert bad.explain(np.array([np.nan, 0, 0, 0]), ax) == "spectrum holds non-finite values"
    # SSIM: scaling the spectrum lowers the similarity (luminance/contrast terms)
    ss = scalarizers.get("similarity", target=TARGET.tolist(), metric="ssim")
    assert 0.0 < ss(0.5 * TARGET, AXIS) < 1.0


def test_similarity_accepts_arrays_and_stores_lists():
    sc = scalarizers.get("similarity", target=TARGET)
    assert json.loads(json.dumps(sc.spec))["params"]["target"] == pytest.approx(TARGET.tolist())
    sc.validate(AXIS, (50,))


def test_combine_sum_and_ratio():
    ax = np.linspace(0.0, 10.0, 21)  # 0.5 steps: band ends on grid points
    s = 1.0 + ax
    a = {"name": "band_integral", "params": {"low": 0.0, "high": 2.0}}  # 2 + 2 = 4
    b = {"name": "band_max", "params": {"low": 0.0, "high": 5.0}}  # 6
    total = scalarizers.get("combine", terms=[{"spec": a, "weight": 0.5}, {"spec": b}])
    assert total(s, ax) == pytest.approx(0.5 * 4.0 + 6.0)
    ratio = scalarizers.get("combine", terms=[{"spec": b}, {"spec": a, "weight": 3.0}], op="ratio")
    assert ratio(s, ax) == pytest.approx(6.0 / 12.0)
    batch = np.stack([s, 2 * s])
    np.testing.assert_allclose(total.apply(batch, ax), [8.0, 16.0])
    np.testing.assert_allclose(ratio.apply(batch, ax), [0.5, 0.5])
    nested = scalarizers.get(
        "combine", terms=[{"spec": total.spec, "weight": 2.0}, {"spec": b, "weight": -1.0}]
    )
    assert nested(s, ax) == pytest.approx(2 * 8.0 - 6.0)
    assert scalarizers.from_spec(json.loads(json.dumps(nested.spec))) == nested


def test_combine_nan_and_explain(waveform, make_loop):
    v = waveform(64, 8.5, 0)
    r = make_loop(v, 2.0, -2.0)
    sc = scalarizers.get(
        "combine",
        terms=[{"spec": "loop_area"}, {"spec": {"name": "coercive_field", "params": {}}}],
        op="ratio",
    )
    assert sc(r, v) == pytest.approx(
        scalarizers.get("loop_area")(r, v) / scalarizers.get("coercive_field")(r, v)
    )
    assert sc.explain(r, v) is None
    flat = np.zeros(64)
    assert np.isnan(sc(flat, v))
    assert (
        sc.explain(flat, v)
        == "term 1 (coercive_field): the increasing-bias branch never crosses the offset level"
    )


def test_combine_of_diffraction_terms():
    k = 8
    axis = np.arange(k) - 3.5
    p = np.zeros((k, k))
    p[4, 6] = 1.0  # a single bright pixel at x = 2.5, y = 0.5
    sc = scalarizers.get(
        "combine", terms=[{"spec": "com_x", "weight": 1.0}, {"spec": "com_y", "weight": 10.0}]
    )
    assert sc(p, axis) == pytest.approx(2.5 + 5.0)
    assert sc.apply(np.stack([p, p]), axis) == pytest.approx([7.5, 7.5])
