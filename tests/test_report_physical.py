"""The report in physical terms: spectra with the scalarizer's windows, units, nm axes, words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import LogNorm

from autoscope import report
from autoscope.errors import InputDataError

H = W = 20
AXIS = np.arange(-2.0, 40.25, 0.25)  # 169 channels, eV
RATIO = {"name": "peak_ratio", "params": {"low1": 3.0, "high1": 9.0, "low2": 12.0, "high2": 26.0}}


def _spectrum(surface: float) -> np.ndarray:
    """A zero-loss peak, a surface plasmon at 6 eV (height ``surface``) and a bulk one at 18 eV."""
    g = lambda x0, h, s: h * np.exp(-0.5 * ((AXIS - x0) / s) ** 2)  # noqa: E731
    return g(0.0, 2e4, 0.3) + g(6.0, surface, 0.8) + g(18.0, 1000.0, 2.0)


@dataclass
class Trace:
    uid: str = "feedc0de-0000"
    image: np.ndarray = field(default_factory=lambda: np.random.default_rng(1).random((H, W)))
    candidates: np.ndarray = field(
        default_factory=lambda: np.array([(r, c) for r in range(4, 16) for c in range(4, 16)])
    )
    measured_ids: list[int] = field(default_factory=lambda: [0, 50, 100, 143])
    phases: list[str] = field(default_factory=lambda: ["seed", "seed", "dkl", "dkl"])
    axis: np.ndarray = field(default_factory=lambda: AXIS.copy())
    specs: dict = field(default_factory=dict)
    stop: dict = field(default_factory=lambda: {"exit_status": "success"})
    decisions: list[dict] = field(default_factory=list)
    maps: dict | None = None

    def __post_init__(self) -> None:
        ids = np.asarray(self.measured_ids)
        self.rows, self.cols = self.candidates[ids, 0], self.candidates[ids, 1]
        heights = np.array([500.0, 1300.0, 800.0, 150.0])
        self.spectra = np.stack([_spectrum(h) for h in heights])
        self.values = heights / 1000.0  # the band-2 maximum is ~1000
        self.chosen_ids = [100, 143]
        self.decisions = [{"step": 2}, {"step": 3}, {"step": 4, "reason": "budget"}]
        n = len(self.candidates)
        acq = np.full((3, n), np.nan)
        acq[-1] = np.linspace(1e-9, 1e-3, n) ** 4  # spans many orders of magnitude
        self.maps = {"mean": np.tile(np.arange(n, dtype=float), (3, 1)), "std": acq * 0 + 1,
                     "acquisition": acq}  # fmt: skip
        self.specs = {
            "scalarizer": RATIO,
            "policy": {"name": "ei", "params": {"maximize": True}},
            "model": {"name": "committee", "params": {}},
            "budget": 4,
            "patch_size": 8,
            "pixel_size": 0.1,
            "axis": AXIS.tolist(),
            "axis_units": "eV",
            "instrument": {"sample": {"kind": "stem", "pixel_units": "nm", "pixel_size": 0.1,
                                      "axis_name": "energy loss", "axis_units": "eV",
                                      "spectrum_units": "counts", "image_units": "counts"}},
        }  # fmt: skip

    def sample(self) -> Any:
        return None


def test_pick_points_best_typical_worst():
    assert report.pick_points([0.5, np.nan, 2.0, 1.0, 0.1]) == [
        ("best", 2),
        ("typical", 0),
        ("worst", 4),
    ]
    assert report.pick_points([np.nan, 3.0]) == [("best", 1)]
    assert report.pick_points([np.nan]) == []


def test_spectra_figure_draws_the_ratio_windows_and_band_maxima():
    tr = Trace()
    fig = report.spectra_figure(tr)
    axes = [ax for ax in fig.axes if ax.lines]
    assert len(axes) == 3
    titles = [ax.get_title() for ax in axes]
    assert (
        titles[0].startswith("best: peak ratio = 1.3")
        and "measurement 2, y 0.80, x 0.60 nm" in titles[0]
    )
    assert titles[1].startswith("typical") and titles[2].startswith("worst: peak ratio = 0.15")
    for ax in axes:
        spans = sorted((round(p.get_x(), 2), round(p.get_width(), 2)) for p in ax.patches)
        assert spans == [(3.0, 6.0), (12.0, 14.0)]  # the two bands, in eV
        assert ax.get_xlabel() == "energy loss (eV)" and ax.get_ylabel() == "intensity (counts)"
        # the zero-loss peak (2e4 counts) is clipped so that the plasmons are readable
        assert ax.get_ylim()[1] < 2000
    # the band maxima are marked: the surface plasmon of the best spectrum at 6 eV
    marks = [ln for ln in axes[0].lines if ln.get_marker() == "v"]
    assert sorted(float(m.get_xdata()[0]) for m in marks) == [6.0, 18.0]


def test_spectra_figure_for_diffraction_patterns_marks_the_centre_of_mass():
    tr = Trace()
    k = np.linspace(-20, 20, 9)
    pat = np.zeros((4, 9, 9))
    pat[:, 4, 6] = 1.0  # all intensity at x = +10 mrad, y = 0
    tr.spectra, tr.axis = pat, k
    tr.specs = dict(tr.specs, scalarizer={"name": "com_magnitude", "params": {}}, axis_units="mrad")
    tr.specs["instrument"]["sample"].update(axis_name="detector angle", axis_units="mrad",
                                            spectrum_units="electrons")  # fmt: skip
    fig = report.spectra_figure(tr)
    ax = fig.axes[0]
    com = [ln for ln in ax.lines if ln.get_label() == "centre of mass"][0]
    assert (float(com.get_xdata()[0]), float(com.get_ydata()[0])) == (10.0, 0.0)
    assert ax.get_xlabel() == "detector angle x (mrad)"
    assert any(cb_ax.get_ylabel() == "intensity (electrons)" for cb_ax in fig.axes[1:])


def test_maps_are_in_nm_with_labelled_colorbars_and_the_acquisition_as_a_rank(tmp_path):
    tr = Trace()
    index = report.make_report(tr, tmp_path)
    html = index.read_text()
    fig = report.map_figure(tr, np.arange(144.0), "mean", label="predicted peak ratio")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "x (nm)" and ax.get_ylabel() == "y (nm)"
    left, right, bottom, top = ax.images[0].get_extent()
    assert (left, right, bottom, top) == pytest.approx((-0.05, 1.95, 1.95, -0.05))
    assert fig.axes[1].get_ylabel() == "predicted peak ratio"
    rank = report.acquisition_rank(tr.maps["acquisition"][-1])
    assert rank[-1] == 1 and np.nanmax(rank) == 144
    # every panel that draws data has a labelled colorbar
    for stem in ("structure", "mean", "uncertainty", "acquisition"):
        assert (tmp_path / f"{stem}.png").is_file()
    assert (
        report._map_title(tr, "mean", 2)
        == "Predicted mean\nmodel trained on 4 measurements (final)"
    )
    assert report._map_title(tr, "mean", 0).endswith("model trained on 2 measurements")
    assert "Acquisition function, as a rank" in report.FIGURES.values() and "rank" in html
    norm_fig = report.map_figure(tr, rank, "acq", label="rank", norm=LogNorm(1, 144))
    assert isinstance(norm_fig.axes[0].images[0].norm, LogNorm)


def test_report_page_explains_in_words(tmp_path):
    tr = Trace()
    html = report.make_report(tr, tmp_path).read_text()
    # scalarizer and policy in words beside their JSON
    assert "the highest signal at 3–9 eV divided by the highest signal at 12–26 eV" in html
    assert "expected improvement: the point where the expected gain" in html
    assert "&quot;low1&quot;: 3.0" in html
    # the spectral axis is summarised, not listed
    assert "energy loss: 169 channels from -2 to 40 eV, step 0.25 eV" in html
    assert not re.search(r"-1\.75,\s*\n\s*-1\.5", html)
    # seed points and decisions explained, the stop reason in words
    assert "The first 2 were random seed points" in html
    assert "the budget of measurements was spent" in html
    # pixel size in physical units
    assert "20x20 pixels of 0.1 nm" in html
    # no caption repeats the panel title (titles are in the images)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html)
    assert len(captions) == len(set(captions)) and all(c not in report.FIGURES.values()
                                                       for c in captions)  # fmt: skip


def test_summary_reconciles_random_median_and_mean():
    assert report.random_median_steps(2401, 25) == 66
    assert report.random_median_steps(4, 1) == 2 and report.random_median_steps(3, 3) == 1
    with pytest.raises(InputDataError, match="1 <= m <= n"):
        report.random_median_steps(5, 6)
    s = {"steps_to_top": 13, "random_median_steps_to_top": 66, "random_steps_to_top": 92.4,
         "top_fraction": 0.01, "n_top": 25, "n_measured": 80, "sample": "stem",
         "grid": [64, 64], "n_seed": 10}  # fmt: skip
    tr = Trace()
    tr.specs = dict(tr.specs, patch_size=16)
    text = report._page.benchmark_sentence(s, tr)
    assert "after 13 measurements" in text and "median of 66 and a mean of 92.4" in text
    assert "the benchmark compares medians" in text
    assert "16.5 over 30 seeds: this single run was faster than" in text
    tr.specs["policy"] = {"name": "ucb", "params": {}}
    assert "compare with care" in report._page.benchmark_sentence(s, tr)
    text = report.format_summary({**s, **_blank()})
    assert re.search(
        r"found after\s+: 13 measurements \(random sampling: median 66, mean 92.4\)", text
    )


def _blank() -> dict:
    keys = ("uid", "exit_status", "scalarizer", "policy", "best_measured", "best_measured_true",
            "best_true_measured", "true_best", "median_decision_s")  # fmt: skip
    return {k: None for k in keys} | {
        "measured_fraction_grid": 0.02,
        "measured_fraction_candidates": 0.03,
        "n_candidates": 2401,
    }


def test_words_for_units_policies_and_axes():
    meta = {"spectrum_units": "a.u.", "axis_units": "V", "axis_name": "DC bias"}
    assert report.value_label({"name": "loop_area"}, meta) == "loop area (a.u. × V)"
    assert report.value_label(RATIO, meta) == "peak ratio (dimensionless)"
    assert "hysteresis loop" in report.describe_scalarizer({"name": "loop_area"}, meta)
    assert "mean + 3 × standard deviation (β = 9)" in report.describe_policy(
        {"name": "ucb", "params": {"beta": 9.0}}
    )
    assert report.describe_policy("maxvar").startswith("maximum variance")
    loop = np.concatenate([np.linspace(0, 10, 11), np.linspace(9, -10, 20), np.linspace(-9, 0, 10)])
    assert "a sweep that turns 2 time(s)" in report.axis_summary(loop, "V", "DC bias")


def test_report_html_references_every_figure_it_writes(tmp_path):
    tr = Trace()
    html = report.make_report(tr, tmp_path).read_text()
    referenced = set(re.findall(r'<img src="([^"]+)"', html))
    written = {p.name for p in tmp_path.glob("*.png")}
    expected = {f"{s}.png" for s in ("structure", "spectra", "mean", "uncertainty", "truth",
                                     "acquisition", "best_so_far")}  # fmt: skip
    assert referenced == written == expected


def test_loop_spectra_show_the_despiked_loop_the_scalarizer_reads():
    from autoscope.scalarizers import hampel

    tr = Trace()
    t = np.linspace(0, 1, 64, endpoint=False)
    bias = np.interp(t, [0, 0.25, 0.75, 1.0], [0, 8.5, -8.5, 0])
    up = np.gradient(bias) > 0
    loops = []
    for k in range(4):
        y = np.where(up, np.tanh(bias - 2.0), np.tanh(bias + 2.0)) * (1 + k)
        y[20] += 30.0  # a single-point spike
        loops.append(y)
    tr.spectra, tr.axis, tr.values = np.stack(loops), bias, np.arange(4.0)
    tr.specs = dict(tr.specs, scalarizer={"name": "loop_area", "params": {}}, axis_units="V")
    fig = report.spectra_figure(tr)
    ax = fig.axes[0]
    raw = [ln for ln in ax.lines if ln.get_label() == "raw (before despiking)"]
    assert len(raw) == 1 and raw[0].get_ydata().max() > 30
    shown = [ln for ln in ax.lines if ln.get_label() != "raw (before despiking)"][0]
    np.testing.assert_allclose(shown.get_ydata(), hampel(loops[3], 9, 4.0, cyclic=True))
    assert shown.get_ydata().max() < 5  # the spike is gone from what is drawn in colour
    assert ax.get_title().startswith("best: loop area = 3 counts × V")  # the fake run's units
