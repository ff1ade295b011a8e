"""``autoscope bench --perf``: a tiny run of both update modes, side by side, end to end."""

from __future__ import annotations

import argparse
import json

import pytest

from autoscope.bench.cli import add_bench_parser
from autoscope.bench.perf import ATOMAI_DECISIONS, PerfConfig, default_modes, run_perf
from autoscope.errors import InputDataError


def test_perf_cli_writes_both_modes_side_by_side(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["bench", "--perf", "--grids", "28", "--tasks", "stem", "--seeds", "1",
         "--budget", "14", "--n-seed", "6", "--dwells", "0", "--pace", "0.02",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert args._run(args) == 0
    result = json.loads((tmp_path / "perf.json").read_text())
    rows = {r["mode"]: r for r in result["rows"]}
    assert set(rows) == set(default_modes()) >= {
        "full", "full_sliced", "fast", "fast_sliced", "fast_bg"
    }  # fmt: skip
    atomai = rows.pop("atomai", None)
    for row in rows.values():
        assert row["grid"] == 28 and row["n_candidates"] == 13 * 13
        assert row["decisions"] == 14 - 6 and not row["errors"]
        assert 0 < row["median_s"] <= row["p95_s"] <= row["max_s"]
    runs = {r["mode"]: r for r in result["runs"]}
    # the seed points and the first decision are the same: the first fit trains either way
    assert runs["full"]["wall"][0] > 0 and len(runs["fast"]["wall"]) == 8
    table = (tmp_path / "PERF.md").read_text()
    assert "| 28x28 | 169 | full | 14 |" in table and "| 28x28 | 169 | fast | 14 |" in table
    assert "0.02 s of simulated measurement between decisions" in table
    # after the first fit no decision of fast_bg trains: each conditions or promotes
    assert max(runs["fast_bg"]["cpu"][1:]) < rows["full"]["cpu_median_s"]
    assert "PERF.md" in capsys.readouterr().out
    if atomai is not None:  # the reference row: timed only, beside the modes, with the ratios
        assert atomai["decisions"] == ATOMAI_DECISIONS and atomai["timed_only"]
        assert runs["atomai"]["n_train"] == [6, 10, 13] and runs["atomai"]["steps"] is None
        assert 0 < atomai["cpu_median_s"] and not atomai["errors"]
        assert "| 28x28 | 169 | atomai | 14 |" in table and "timed only" in table
        ratio = atomai["cpu_median_s"] / rows["fast"]["cpu_median_s"]
        assert f"`fast` {ratio:.0f}×" in table


@pytest.mark.parametrize(
    ("over", "word"),
    [
        ({"modes": ["turbo"]}, "unknown perf mode"),
        ({"tasks": ["beps"]}, "fixed grid"),
        ({"grids": [8]}, "grid sides"),
        ({"budget": 5, "n_seed": 10}, "n_seed"),
        ({"dwells": [-0.3]}, "dwells"),
        ({"idle_modes": ["warp"]}, "unknown mode"),
        ({"discovery_modes": ["batch99"]}, "unknown mode"),
        ({"idle_budget": 11, "n_seed": 10}, "idle_budget"),
        ({"pace": -1.0}, "pace"),
    ],
)
def test_perf_config_names_the_bad_setting(tmp_path, over, word):
    with pytest.raises(InputDataError, match=word):
        run_perf(PerfConfig(**over), tmp_path)


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["--perf", "--shape", "32"], "--perf does not take --shape"),
        (["--dwells", "0.3"], "--dwells is a --perf option"),
        (["--perf", "--methods", "random"], "--methods"),
        (["--grids", "64"], "--grids is a --perf option"),
        (["--pace", "0.1"], "--pace is a --perf option"),
    ],
)
def test_perf_cli_refuses_options_it_does_not_use(tmp_path, argv, word):
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", *argv, "--out", str(tmp_path)])
    with pytest.raises(InputDataError, match=word):
        args._run(args)
    assert not (tmp_path / "perf.json").exists()


def test_perf_quick_and_dwells_reach_the_configuration(tmp_path, monkeypatch):
    import autoscope.bench.perf as perf

    seen = []
    monkeypatch.setattr(perf, "run_perf", lambda config, out, log=None: seen.append(config))
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["bench", "--perf", "--quick", "--dwells", "0.1,0.5", "--out", str(tmp_path)]
    )
    assert args._run(args) == 0
    (config,) = seen
    assert config.grids == [32] and config.seeds == [0] and config.dwells == [0.1, 0.5]
    assert config.idle_grid == config.discovery_grid == 32
    args = parser.parse_args(["bench", "--perf", "--dwells", "0", "--out", str(tmp_path)])
    args._run(args)
    assert seen[-1].dwells == [] and seen[-1].grids == [64, 128, 256]
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--perf", "--dwells", "fast"])
