"""``autoscope replay`` and replay through a real Tiled server; the real PbTiO3 data (slow)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from autoscope.replay.cli import add_replay_parser, replay_report, run_replay

LOOP_AREA = {"name": "loop_area", "params": {}}
COERCIVE_WIDTH = {"name": "coercive_field", "params": {"which": "width"}}
BAND_MAX = json.dumps({"name": "band_max", "params": {"low": 0.0, "high": 10.0}})


def _parser():
    parser = argparse.ArgumentParser(prog="autoscope")
    add_replay_parser(parser.add_subparsers(dest="command"))
    return parser


def test_replay_report_of_the_runs_own_specs(tiny_trace, tmp_path):
    index = replay_report(tiny_trace, tmp_path / "out")
    assert index.name == "index.html" and "Replay of run" in index.read_text()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counterfactual"]["agreement"] == 1.0
    assert summary["counterfactual"]["own_specs"] is True
    for stem in ("counterfactual", "retrace", "feature_space"):
        assert (tmp_path / "out" / f"{stem}.png").stat().st_size > 1000
    rows = (tmp_path / "out" / "decisions.csv").read_text().splitlines()
    assert len(rows) == 1 + 8 and rows[0].startswith("decision,step,actual_id")
    assert "best_channel" not in summary  # a one-channel image


def test_parser_reads_specs():
    ucb = '{"name": "ucb", "params": {"beta": 1.0}}'
    args = _parser().parse_args(["replay", "abc", "--policy", ucb, "--feature-space", "none"])
    assert args.policy == {"name": "ucb", "params": {"beta": 1.0}} and args._run is run_replay
    assert args.uid == "abc" and args.scalarizer is None and args.feature_space == "none"


@pytest.mark.slow
def test_replay_command_end_to_end(tmp_path, _catalog_template, experiment, capsys):
    import shutil

    from autoscope.devices.sim import SimMicroscope
    from autoscope.storage import close_catalog, open_catalog
    from autoscope.testing import TinySample

    directory = tmp_path / "cat"
    directory.mkdir()
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    client = open_catalog(directory)
    try:
        mic = SimMicroscope(TinySample(shape=(12, 12), seed=2), seed=0)
        scalarizer = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
        uid = experiment(client, mic, scalarizer, budget=7, n_seed=3, patch_size=4)
    finally:
        close_catalog(client)
    from autoscope.cli import main

    argv = ["replay", "-1", "--catalog", str(directory), "--out", str(tmp_path / "out")]
    assert main([*argv, "--scalarizer", BAND_MAX]) == 0
    out = capsys.readouterr().out
    assert uid in out and "agreement" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["uid"] == uid and summary["counterfactual"]["scalarizer"]["name"] == "band_max"
    assert summary["counterfactual"]["n_decisions"] == 4


def test_bad_command_line():
    parser = _parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["replay", "5"])  # a positive index is not a run
    with pytest.raises(SystemExit):
        parser.parse_args(["replay", "abc", "--policy", "{not json"])
    with pytest.raises(SystemExit):
        parser.parse_args(["replay", "abc", "--catalog", "x", "--tiled-uri", "http://h"])


@pytest.mark.server
def test_replay_through_a_tiled_server(tiled_server, experiment):
    """A run written to a real server process, read back over HTTP, replays exactly."""
    from autoscope import trace
    from autoscope.devices.sim import SimMicroscope
    from autoscope.replay import counterfactual, retrace
    from autoscope.storage import close_catalog, open_catalog
    from autoscope.testing import TinySample

    uri, api_key = tiled_server
    client = open_catalog(uri, api_key=api_key)
    try:
        mic = SimMicroscope(TinySample(shape=(14, 14), seed=4), seed=0)
        scalarizer = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}
        uid = experiment(client, mic, scalarizer, budget=9, n_seed=3, patch_size=5, seed=3)
    finally:
        close_catalog(client)
    reader = open_catalog(uri, api_key=api_key)  # a fresh client, as an analyst would
    try:
        tr = trace.load(uid, catalog=reader)
    finally:
        close_catalog(reader)
    cf = counterfactual(tr)
    assert cf.chosen_ids == tr.chosen_ids and len(cf.chosen_ids) == 6
    assert retrace(tr, recommender=cf.recommender).surprise.shape == (6,)
    other = counterfactual(tr, scalarizer=json.loads(BAND_MAX), policy="ucb")
    assert len(other.chosen_ids) == 6 and np.isfinite(other.values).all()


@pytest.mark.slow
def test_counterfactual_on_the_real_pbtio3_loops(catalog, experiment):
    """BEPS loops of a PbTiO3 film (RecordedSample.from_beps): guided by loop area, replayed with
    the coercive-field width."""
    from autoscope import trace
    from autoscope.devices.sim import SimMicroscope
    from autoscope.replay import counterfactual
    from autoscope.sim.recorded import RecordedSample

    sample = RecordedSample.from_beps()
    mic = SimMicroscope(sample, seed=0)
    uid = experiment(catalog, mic, LOOP_AREA, budget=14, n_seed=6, patch_size=8, seed=0)
    tr = trace.load(uid, catalog=catalog)
    assert tr.image.shape == (50, 50, 2) and tr.spectra.shape == (14, 64)
    own = counterfactual(tr)
    assert own.chosen_ids == tr.chosen_ids
    cf = counterfactual(tr, scalarizer=COERCIVE_WIDTH)
    assert len(cf.chosen_ids) == 8 and cf.values.shape == (14,)
    assert np.isfinite(cf.values).sum() >= 10  # real, noisy loops: a few may not cross zero
    assert all(
        c is None or c not in tr.measured_ids[:s]
        for c, s in zip(cf.chosen_ids, cf.steps, strict=True)
    )
