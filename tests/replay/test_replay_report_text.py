"""The replay report reads in words: rounded figures with units, a progress bar, no raw keys."""

from __future__ import annotations

import re
from html import unescape

from autoscope.replay.cli import CAPTIONS, replay_report
from autoscope.replay.report_text import replay_rows

RAW = {
    "counterfactual": {
        "own_specs": False,
        "n_decisions": 70,
        "agreement": 0.1,
        "first_divergence": 3,
        "median_actual_rank": 2005.5,
        "mean_distance_px": 24.12988345578803,
        "scalarizer": {"name": "band_max", "params": {"low": 12.0, "high": 26.0}},
        "policy": {"name": "ei", "params": {"maximize": True}},
        "model": {"name": "committee", "params": {}},
    },
    "retrace": {
        "median_surprise": 1.23456,
        "most_surprising_steps": [56, 55, 38],
        "most_changed_steps": [10],
        "mean_exploration_share": 0.5812,
    },
}


def test_rows_round_and_explain_every_figure():
    got = replay_rows(RAW, pixel_size=0.1, pixel_units="nm", n_candidates=2401)
    rows = {label: text for _, label, text in got}
    assert rows["agreement"].startswith("7 of 70 decisions (10%)")
    assert rows["first divergence"].startswith("decision 3:")
    assert rows["rank of the run's choice"].startswith("median 2006th of about 2401 candidates")
    assert rows["distance between the choices"].startswith("2.41 nm (24.1 px) on average")
    assert rows["median surprise"].startswith("1.23 σ:")
    assert rows["most surprising measurements"].startswith("numbers 57, 56, 39 (counting from 1)")
    assert rows["exploration vs exploitation"].startswith("58% of the acquisition value")
    assert "band_max(low=12, high=26)" in rows["what was replayed"]
    text = " ".join(rows.values())
    assert "24.1298" not in text and "2005.5" not in text  # rounded
    own = {**RAW, "counterfactual": {**RAW["counterfactual"], "own_specs": True,
                                     "agreement": 1.0, "first_divergence": None}}  # fmt: skip
    rows = {label: text for _, label, text in replay_rows(own)}
    assert rows["what was replayed"].startswith("the run's own scalarizer, policy and model")
    assert rows["first divergence"] == "none: every decision agreed"
    assert rows["distance between the choices"].startswith("24.1 px on average")  # no pixel size


def test_rows_skip_what_is_not_known():
    rows = replay_rows({"counterfactual": {"n_decisions": 0}, "retrace": {}})
    assert [label for _, label, _ in rows] == ["what was replayed", "first divergence"]


def test_report_page_has_no_raw_keys_and_shows_progress(tiny_trace, tmp_path, capsys):
    index = replay_report(tiny_trace, tmp_path / "out", feature_method=None, progress=True)
    err = capsys.readouterr().err
    assert "replay: counterfactual" in err and "decision" in err
    html = unescape(index.read_text())
    for raw in ("median_actual_rank", "mean_distance_px", "own_specs", "median_surprise"):
        assert raw not in html
    assert "the run's own scalarizer, policy and model" in html
    assert re.search(r"\d+ of \d+ decisions \(100%\)", html)
    for stem in ("counterfactual", "retrace"):
        assert f'src="{stem}.png"' in html and CAPTIONS[stem] in html
    referenced = set(re.findall(r'<img src="([^"]+)"', html))
    assert referenced == {p.name for p in (tmp_path / "out").glob("*.png")}
    assert referenced == {"counterfactual.png", "retrace.png"}
    header = (tmp_path / "out" / "decisions.csv").read_text().splitlines()[0]
    assert header.endswith("actual_rank,surprise_sigma")
