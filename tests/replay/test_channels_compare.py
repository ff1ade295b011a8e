"""best_channel on a constructed 3-channel case, and compare of several runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage as ndi

from autoscope.errors import InputDataError
from autoscope.features import candidate_grid
from autoscope.replay import CompareResult, best_channel, compare
from autoscope.replay.channels import gp_log_ml
from autoscope.replay.compare import coverage_curve
from autoscope.replay.figures import best_channel_figure
from autoscope.sim.spm import SPMSample
from autoscope.trace import ExperimentTrace


def _trace(image, ids, values, patch, channels, uid="constructed"):
    cand = candidate_grid(image.shape[:2], patch, 1)
    n = len(ids)
    return ExperimentTrace(
        uid=uid, image=image, candidates=cand, patch_size=patch, stride=1,
        measured_ids=[int(i) for i in ids], rows=cand[ids, 0], cols=cand[ids, 1],
        spectra=np.zeros((n, 4)), axis=np.arange(4.0), values=np.asarray(values, float),
        phases=["seed"] * 4 + ["dkl"] * (n - 4), steps=np.arange(n),
        positions=np.zeros((n, 2)), times=np.zeros(n), decisions=[], maps=None,
        specs={"n_seed": 4}, instrument={"sample": {"channels": list(channels)}},
    )  # fmt: skip


@pytest.fixture(scope="module")
def three_channels():
    """SPM amplitude and phase plus a 'hidden' smooth field that alone sets the property."""
    spm = SPMSample(shape=(32, 32), seed=3)
    rng = np.random.default_rng(7)
    hidden = ndi.gaussian_filter(rng.standard_normal((32, 32)), 3.0)
    image = np.stack([spm.image[..., 0], spm.image[..., 1], hidden], axis=-1)
    patch = 5
    cand = candidate_grid((32, 32), patch, 1)
    ids = rng.choice(len(cand), 40, replace=False)
    values = hidden[cand[ids, 0], cand[ids, 1]] * 10 + 0.01 * rng.standard_normal(40)
    return _trace(image, ids, values, patch, ("amplitude", "phase", "hidden"))


def test_best_channel_finds_the_channel_that_sets_the_property(three_channels):
    rows = best_channel(three_channels)
    assert len(rows) == 7 and [r["rank"] for r in rows] == list(range(7))
    assert rows[0]["channels"] == ("hidden",)
    singles = {r["channels"][0]: r for r in rows if len(r["channels"]) == 1}
    assert singles["hidden"]["kfold_nrmse"] < 0.5
    assert singles["amplitude"]["kfold_nrmse"] > 0.8 and singles["phase"]["kfold_nrmse"] > 0.8
    assert singles["hidden"]["log_ml"] > max(
        singles["amplitude"]["log_ml"], singles["phase"]["log_ml"]
    )
    errs = [r["kfold_nrmse"] for r in rows]
    assert errs == sorted(errs)
    assert all(r["n"] == 40 and np.isfinite(r["path_nrmse"]) for r in rows)
    assert len(best_channel_figure(rows).axes) == 1


def test_best_channel_options_and_errors(three_channels):
    rows = best_channel(three_channels, ["phase", 2], max_size=1)
    assert [r["channels"] for r in rows] == [("hidden",), ("phase",)]
    with pytest.raises(InputDataError, match="unknown channel 'height'"):
        best_channel(three_channels, ["height"])
    with pytest.raises(InputDataError, match="n_folds"):
        best_channel(three_channels, n_folds=1)
    few = dataclasses.replace(three_channels, values=np.full(40, np.nan))
    with pytest.raises(InputDataError, match=">= 4 finite"):
        best_channel(few)


def test_gp_log_ml_matches_the_closed_form():
    z = np.array([[0.0], [1.0]])
    y = np.array([1.0, -1.0])
    theta = np.log([1.0, 1.0, 0.1])  # ell, sf2, sn2
    k = np.exp(-0.5 * (z - z.T) ** 2) + 0.1 * np.eye(2)
    expected = -0.5 * y @ np.linalg.solve(k, y) - 0.5 * np.log(np.linalg.det(k)) - np.log(2 * np.pi)
    assert gp_log_ml(theta, z, y) == pytest.approx(expected, rel=1e-12)


def test_coverage_curve_counts_cells():
    emb = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.05, 0.05]])  # 3 occupied cells of 2x2
    np.testing.assert_allclose(coverage_curve(emb, [0, 3, 1, 2], bins=2), [1 / 3, 1 / 3, 2 / 3, 1])


def test_compare_runs(tiny_trace, three_channels):
    ids, values = tiny_trace.measured_ids[::-1], tiny_trace.values[::-1]
    rev = dataclasses.replace(tiny_trace, uid="reversed", measured_ids=ids, values=values)
    cmp = compare([tiny_trace, rev, three_channels], labels=["run", "reversed", "other"])
    assert isinstance(cmp, CompareResult) and cmp.labels == ["run", "reversed", "other"]
    np.testing.assert_array_equal(cmp.best_so_far[0], np.maximum.accumulate(tiny_trace.values))
    assert cmp.embeddings[0] is cmp.embeddings[1]  # same image: one shared embedding
    assert cmp.embeddings[2].shape == (len(three_channels.candidates), 2)
    # the same points in another order reach the same final coverage
    assert cmp.coverage[0] == cmp.coverage[1] and 0 < cmp.coverage[0] <= 1
    for c in cmp.coverage_curves:
        assert np.all(np.diff(c) >= 0) and c[-1] <= 1
    np.testing.assert_array_equal(cmp.paths[0], tiny_trace.candidates[tiny_trace.measured_ids])
    rows = cmp.table()
    assert rows[0]["best"] == np.max(tiny_trace.values)
    assert rows[0]["best_step"] == int(np.argmax(tiny_trace.values))
    assert len(cmp.figure().axes) == 3


def test_compare_with_a_common_scalarizer(tiny_trace):
    spec = {"name": "band_max", "params": {"low": 0.0, "high": 10.0}}
    cmp = compare([tiny_trace], scalarizer=spec)
    assert cmp.scalarizer["name"] == "band_max"
    assert cmp.values[0].max() == pytest.approx(tiny_trace.spectra.max(), rel=1e-9)
    assert "seed 1" in compare(tiny_trace).labels[0]
    with pytest.raises(InputDataError, match="at least one trace"):
        compare([])
    with pytest.raises(InputDataError, match="labels"):
        compare([tiny_trace], labels=["a", "b"])
