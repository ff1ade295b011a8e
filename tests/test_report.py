"""The report: exact random baseline, summary numbers, figures, index.html (synthetic trace)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure

from autoscope import report
from autoscope.errors import InputDataError

# panels every report has; "interventions" and "boars" only come with a steered run
BASE_FIGURES = [s for s in report.FIGURES if s not in ("interventions", "boars")]

H = W = 12
SPEC = {"name": "band_integral", "params": {"low": 0.0, "high": 1.0}}


class FakeSample:
    """Truth = 10 * row + col/100 (unique values; maximum at the bottom-right corner)."""

    def __init__(self) -> None:
        r, c = np.mgrid[0:H, 0:W]
        self.map = 10.0 * r + c / 100.0
        self.calls: list[Any] = []

    def truth(self, spec: Any) -> np.ndarray:
        self.calls.append(spec)
        return self.map.copy()


@dataclass
class FakeTrace:
    uid: str = "0123456789abcdef"
    image: np.ndarray = field(default_factory=lambda: np.random.default_rng(0).random((H, W, 2)))
    candidates: np.ndarray = field(
        default_factory=lambda: np.array([(r, c) for r in range(2, 10) for c in range(2, 10)])
    )
    measured_ids: list[int] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    cols: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    phases: list[str] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    maps: dict | None = None
    specs: dict = field(default_factory=dict)
    stop: dict = field(default_factory=lambda: {"exit_status": "success"})
    fake_sample: Any = None

    def sample(self) -> Any:
        return self.fake_sample


def make_trace(ids: list[int], n_seed: int = 2, with_maps: bool = True) -> FakeTrace:
    tr = FakeTrace()
    cand = tr.candidates
    truth = FakeSample().map
    tr.measured_ids = list(ids)
    tr.rows, tr.cols = cand[ids, 0], cand[ids, 1]
    tr.values = truth[tr.rows, tr.cols] + 0.5  # a constant "noise" offset
    tr.phases = ["seed"] * n_seed + ["dkl"] * (len(ids) - n_seed)
    n_dec = len(ids) - n_seed + 1
    tr.decisions = [{"step": i, "t_total": 0.1 * (i + 1)} for i in range(n_dec)]
    if with_maps:
        n = cand.shape[0]
        mean = np.full((n_dec, n), np.nan)
        mean[0] = np.arange(n)  # only the first decision stored maps
        tr.maps = {"mean": mean, "std": mean + 1.0, "acquisition": -mean}
    tr.specs = {
        "scalarizer": SPEC,
        "policy": {"name": "ei", "params": {}},
        "instrument": {"sample": {"kind": "stem"}},
    }
    return tr


# -- random baseline -------------------------------------------------------------------------
def test_random_baseline_matches_enumeration():
    v = np.random.default_rng(3).normal(size=7)
    v[2] = v[5]  # a tie
    base = report.random_baseline(v, 7, quantiles=(0.1, 0.5, 0.9))
    assert list(base["k"]) == list(range(1, 8))
    for k in range(1, 8):
        maxima = np.array([max(c) for c in itertools.combinations(v, k)])
        assert base["mean"][k - 1] == pytest.approx(maxima.mean(), rel=1e-10, abs=1e-12)
        for q in (0.1, 0.5, 0.9):
            # smallest value x with P(max <= x) >= q
            xs = np.sort(np.unique(maxima))
            cdf = np.array([(maxima <= x).mean() for x in xs])
            expected = xs[np.argmax(cdf >= q - 1e-12)]
            assert base[f"q{q:g}"][k - 1] == pytest.approx(expected)


def test_random_baseline_limits_and_errors():
    v = np.arange(100.0)
    base = report.random_baseline(v, 500)
    assert base["k"].size == 100  # clipped to N
    assert base["mean"][0] == pytest.approx(49.5)
    assert base["mean"][-1] == pytest.approx(99.0)
    # E[max of k from 0..N-1] = k (N + 1) / (k + 1) - 1
    assert base["mean"][9] == pytest.approx(10 * 101 / 11 - 1)
    assert np.all(np.diff(base["mean"]) > 0)
    with pytest.raises(InputDataError, match="k_max"):
        report.random_baseline(v, 0)
    with pytest.raises(InputDataError, match="finite"):
        report.random_baseline([np.nan], 3)


# -- summary ---------------------------------------------------------------------------------
def test_summarize_with_truth():
    # candidates are 8x8 (rows/cols 2..9); the true best is id 63 at (9, 9)
    tr = make_trace([0, 10, 63, 5, 62])
    s = report.summarize(tr, FakeSample())
    assert s["uid"] == tr.uid
    assert s["grid"] == [H, W]
    assert s["n_candidates"] == 64 and s["n_measured"] == 5 and s["n_seed"] == 2
    assert s["measured_fraction_grid"] == pytest.approx(5 / 144)
    assert s["measured_fraction_candidates"] == pytest.approx(5 / 64)
    assert s["n_top"] == 1  # ceil(1% of 64)
    assert s["steps_to_top"] == 3
    assert s["random_steps_to_top"] == pytest.approx(65 / 2)
    assert s["true_best"] == pytest.approx(90.09)
    assert s["best_measured"] == pytest.approx(90.59)
    assert s["best_measured_true"] == pytest.approx(90.09)
    assert s["best_true_measured"] == pytest.approx(90.09)
    assert s["median_decision_s"] == pytest.approx(0.25)  # of 0.1, 0.2, 0.3, 0.4
    assert s["sample"] == "stem" and s["exit_status"] == "success"
    json.dumps(s)  # serialisable
    text = report.format_summary(s)
    assert "found after" in text and ": 3 measurements" in text and tr.uid in text


def test_summarize_top_fraction_and_not_found():
    tr = make_trace([0, 1, 2])
    s = report.summarize(tr, FakeSample(), top_fraction=0.1)
    assert s["n_top"] == math.ceil(6.4)
    assert s["steps_to_top"] is None
    assert "not found in 3 measurements" in report.format_summary(s)
    s = report.summarize(tr)  # no ground truth
    assert s["true_best"] is None and s["steps_to_top"] is None
    assert "n/a (no ground truth)" in report.format_summary(s)


def test_candidate_grid():
    tr = make_trace([0, 1, 2])
    grid = report.candidate_grid(tr, np.arange(64.0))
    assert grid.shape == (H, W)
    assert np.isnan(grid[0, 0]) and grid[2, 2] == 0 and grid[9, 9] == 63
    assert np.isfinite(grid).sum() == 64
    with pytest.raises(InputDataError, match="expected 64 candidate values"):
        report.candidate_grid(tr, np.arange(10.0))


# -- figures ---------------------------------------------------------------------------------
def test_structure_figure_draws_path_on_first_channel():
    tr = make_trace([0, 10, 63, 5])
    fig = report.structure_figure(tr)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), tr.image[..., 0])
    path = [ln for ln in ax.lines if ln.get_label() == "path"][0]
    np.testing.assert_array_equal(path.get_xdata(), tr.cols)
    np.testing.assert_array_equal(path.get_ydata(), tr.rows)


def test_map_figure_scatters_candidates_and_handles_missing():
    tr = make_trace([0, 1])
    fig = report.map_figure(tr, np.arange(64.0), "mean")
    arr = fig.axes[0].images[0].get_array()
    assert arr[9, 9] == 63 and np.ma.is_masked(arr[0, 0])
    empty = report.map_figure(tr, None, "mean")
    assert not empty.axes[0].images
    assert "not stored" in empty.axes[0].texts[0].get_text()


def test_best_so_far_figure_curves():
    tr = make_trace([0, 10, 63, 5])
    tv = report.truth_values(tr, FakeSample())
    fig = report.best_so_far_figure(tr, tv)
    lines = {ln.get_label(): ln for ln in fig.axes[0].lines}
    np.testing.assert_allclose(lines["this run (true)"].get_ydata(), [20.02, 30.04, 90.09, 90.09])
    np.testing.assert_allclose(lines["measured (noisy)"].get_ydata(), [20.52, 30.54, 90.59, 90.59])
    expected = report.random_baseline(tv, 4)["mean"]
    np.testing.assert_allclose(lines["random: expectation"].get_ydata(), expected)
    # without truth: only the measured curve
    fig = report.best_so_far_figure(tr)
    assert "random: expectation" not in {ln.get_label() for ln in fig.axes[0].lines}


# -- the report ------------------------------------------------------------------------------
def test_make_report_writes_panels_and_index(tmp_path):
    tr = make_trace([0, 10, 63, 5])
    tr.fake_sample = FakeSample()  # found through trace.sample()
    index = report.make_report(tr, tmp_path / "rep")
    assert index == tmp_path / "rep" / "index.html"
    html = index.read_text()
    for stem in BASE_FIGURES:
        png = tmp_path / "rep" / f"{stem}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{stem}.png"' in html
    assert tr.uid in html and "found after" in html and "3 measurements" in html
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["steps_to_top"] == 3
    assert tr.fake_sample.calls and tr.fake_sample.calls[0] == SPEC


def test_make_report_without_truth_or_maps(tmp_path):
    tr = make_trace([0, 1, 2], with_maps=False)
    index = report.make_report(tr, tmp_path)
    html = index.read_text()
    assert "n/a (no ground truth)" in html
    assert len(list(tmp_path.glob("*.png"))) == len(BASE_FIGURES)


def test_top_region_counts_and_ties():
    v = np.array([5.0, 1.0, 5.0, 3.0, 2.0])
    np.testing.assert_array_equal(report.top_region(v, 0.2), [True, False, True, False, False])
    assert report.top_region(np.arange(200.0), 0.01).sum() == 2
    assert report.top_region(np.arange(150.0), 0.01).sum() == 2  # ceil(1.5)
    with pytest.raises(InputDataError, match="top_fraction"):
        report.top_region(v, 0.0)
