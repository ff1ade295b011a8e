"""A tiny benchmark run end to end: tasks, methods, runner, summary, report, CLI."""

import json

import numpy as np
import pytest

from autoscope.bench import BenchConfig, build_task, run_benchmark, summarize, write_report
from autoscope.bench.cli import add_bench_parser
from autoscope.bench.methods import Method, initial_order, run_method
from autoscope.bench.metrics import steps_to_top, top_mask
from autoscope.bench.summary import COLUMNS, evaluate_targets
from autoscope.errors import InputDataError


def _quiet(_msg):
    pass


def test_tasks_have_truth_on_every_candidate():
    task = build_task("stem", 0, shape=24, patch_size=8)
    assert task.candidates.shape == (17 * 17, 2)
    assert task.truth.shape == (289,) and np.isfinite(task.truth).all()
    beps = build_task("beps", 0)
    assert beps.image.shape == (50, 50, 2) and beps.patch_size == 8
    assert beps.n_candidates == 43 * 43
    with pytest.raises(InputDataError, match="unknown benchmark task"):
        build_task("nope")


def test_unrelated_task_property_is_the_random_field_not_the_image():
    task = build_task("unrelated", 0, shape=32, patch_size=8)
    stem = build_task("stem", 0, shape=32, patch_size=8)
    assert np.array_equal(task.image, stem.image)
    assert task.truth.min() >= 0.0 and task.truth.max() <= 1.0
    assert abs(np.corrcoef(task.truth, stem.truth)[0, 1]) < 0.5
    noisy = task.measure(0, np.random.default_rng(0))
    assert noisy == pytest.approx(task.truth[0], abs=0.1)


def test_quick_model_free_run_writes_table_with_the_columns(tmp_path):
    config = BenchConfig.quick_config(tasks=["stem"], methods=["random", "raster"], shape=24)
    result = run_benchmark(config, tmp_path, log=_quiet)
    summary = summarize(result)
    md = write_report(result, summary, tmp_path, plots=False).read_text()
    assert "| " + " | ".join(COLUMNS) + " |" in md
    assert "| random |" in md and "| raster grid |" in md
    assert json.loads((tmp_path / "results.json").read_text())["config"]["budget"] == 30
    # the random baseline's steps are those of the seeded permutation
    task = build_task("stem", 1, shape=24, patch_size=8)
    row = next(r for r in summary["rows"] if r["method"] == "random")
    expected = steps_to_top(initial_order(task.n_candidates, 1), top_mask(task.truth))
    assert row["steps"][1] == expected
    assert summary["targets"] == []  # no DKL row: nothing to judge
    # resume reuses the stored jobs
    lines = []
    run_benchmark(config, tmp_path, resume=True, log=lines.append)
    assert lines == ["[bench] reuse stem / random", "[bench] reuse stem / raster"]


def test_dkl_run_is_deterministic_and_timed():
    task = build_task("stem", 0, shape=24, patch_size=8)
    spec = {"name": "dkl", "params": {"n_iter": 30, "warm_iter": 5}}
    method = Method("dkl_small", "small DKL, EI", "recommender", spec, "ei")
    a = run_method(task, method, 0, budget=12, n_seed=4)
    b = run_method(task, method, 0, budget=12, n_seed=4)
    assert a.error is None and a.order == b.order and a.values == b.values
    assert len(set(a.order)) == 12 and a.order[:4] == initial_order(289, 0)[:4].tolist()
    assert len(a.wall) == len(a.cpu) == 8 and a.n_train == list(range(4, 12))
    assert {"train", "predict", "acquire"} <= set(a.phases)
    assert len(a.pred) == 289 and np.isfinite(a.pred).all()


def test_targets_pass_and_fail_on_hand_made_rows():
    def row(task, method, median, latency=None):
        return {
            "task": task,
            "method": method,
            "n_candidates": 2401,
            "steps_summary": {"median": median},
            "latency": latency,
        }

    rows = [
        row("stem", "dkl_ei", 40.0, {"median": 0.2, "p95": 0.4, "n": 450}),
        row("stem", "random", 70.0),
        row("spm", "dkl_ei", 60.0),
        row("spm", "random", 200.0),
    ]
    cfg = {"shape": 64, "patch_size": 16, "seeds": [0, 1, 2, 3, 4], "budget": 100}
    exp = {"stem": {"median": 70, "mean": 90.0}, "spm": {"median": 200, "mean": 250.0}}
    got = evaluate_targets({"rows": rows, "random_expected": exp}, cfg)
    verdicts = [(t["task"], t["target"].split()[-1], t["passed"]) for t in got]
    assert verdicts == [
        ("stem", "candidates", True),  # 40 <= 48.02
        ("stem", "random", False),  # exact random median 70 / 40 = 1.75 < 3
        ("spm", "candidates", False),  # 60 > 48.02
        ("spm", "random", True),  # exact random median 200 / 60 = 3.33
        ("stem", "100", True),  # latency 0.2 s
    ]
    assert all(t["note"] == "" for t in got)
    assert "this run's random row median 70 -> 1.75x" in got[1]["measured"]


def test_latency_targets_name_their_own_method():
    def row(task, method, lat):
        return {
            "task": task,
            "method": method,
            "n_candidates": 2401,
            "steps_summary": {"median": float("nan")},
            "latency": {"median": lat, "p95": 2 * lat, "n": 450},
        }

    rows = [row("stem", "committee_ei", 0.25), row("stem", "dkl_ei", 0.1)]
    rows += [row("stem128", "committee_ei", 0.3)]
    cfg = {"shape": 64, "patch_size": 16, "seeds": [0, 1, 2, 3, 4], "budget": 100}
    got = evaluate_targets(
        {"rows": rows, "random_expected": {"stem": {"median": 70, "mean": 90.0}}}, cfg
    )
    lat = [
        (t["task"], t["target"].split(":")[0], t["verdict"])
        for t in got
        if "latency" in t["target"]
    ]
    assert lat == [
        ("stem", "the default committee of spatial DKL and coordinate GP (EI)", "PASS"),
        ("stem", "active DKL (EI)", "PASS"),
        ("stem128", "the default committee of spatial DKL and coordinate GP (EI)", "reported"),
    ]


def test_targets_cover_the_spatial_row_and_the_unrelated_honesty_check():
    def row(task, method, median, coverage=float("nan")):
        return {
            "task": task,
            "method": method,
            "n_candidates": 2401,
            "steps_summary": {"median": median},
            "latency": None,
            "coverage95": coverage,
            "map_error": 0.5,
        }

    rows = [
        row("spm", "spatial_dkl_ei_cal", 20.0),
        row("unrelated", "dkl_ei", 15.0, coverage=0.1),
        row("unrelated", "spatial_dkl_ei_cal", 60.0, coverage=0.9),
        row("unrelated", "random", 66.0),
    ]
    cfg = {"shape": 64, "patch_size": 16, "seeds": [0, 1], "budget": 100}
    exp = {"spm": {"median": 66, "mean": 92.4}}
    got = evaluate_targets({"rows": rows, "random_expected": exp}, cfg)
    verdicts = [(t["task"], t["target"].split()[0], t["passed"]) for t in got]
    assert verdicts == [
        ("unrelated", "active", False),  # covers 10 % of the truth: pretends
        ("spm", "calibrated", True),  # 20 <= 48
        ("spm", "calibrated", True),  # 66 / 20 = 3.3
        ("unrelated", "calibrated", True),  # 0.9 >= 0.8
    ]
    assert "median coverage 0.10" in got[0]["measured"]
    assert all("differ" in t["note"] for t in got)  # 2 seeds


def test_cli_parser_quick_run_writes_plots(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["bench", "--quick", "--tasks", "spm", "--methods", "random,raster", "--seeds", "1",
         "--shape", "24", "--out", str(tmp_path / "out"), "--markdown", str(tmp_path / "R.md")]
    )  # fmt: skip
    assert args._run(args, parser) == 0
    assert {p.name for p in (tmp_path / "out").glob("*.png")} == {"regret.png", "steps.png"}
    assert "![regret](out/regret.png)" in (tmp_path / "R.md").read_text()


def test_config_rejects_unknown_names():
    with pytest.raises(InputDataError, match="unknown tasks"):
        BenchConfig(tasks=["stem", "moon"]).validate()
    with pytest.raises(InputDataError, match="n_seed"):
        BenchConfig(budget=5, n_seed=10).validate()


def test_autoscope_cli_has_bench(tmp_path):
    from autoscope.cli import main

    argv = ["bench", "--quick", "--tasks", "stem", "--methods", "random", "--seeds", "1"]
    argv += ["--shape", "24", "--out", str(tmp_path), "--no-plots"]
    assert main(argv) == 0
    assert (tmp_path / "RESULTS.md").is_file() and (
        tmp_path / "runs" / "stem__random.json"
    ).is_file()
    assert not list(tmp_path.glob("*.png"))


def test_summarize_hand_made_job():
    def run(seed, steps, regret, wall, n_train):
        return {
            "seed": seed, "steps": steps, "n_candidates": 2401, "k_top": 25, "regret": regret,
            "map_error": 0.5 + seed, "coverage95": 0.9, "wall": wall, "cpu": wall,
            "n_train": n_train, "fallbacks": seed, "error": None,
        }  # fmt: skip

    job = {
        "task": "stem",
        "method": "dkl_ei",
        "runs": [
            run(0, 12, [1.0, 0.5, 0.0], [0.1, 0.2, 9.0], [10, 50, 101]),
            run(1, None, [1.0, 1.0, 0.5], [0.3, 0.4], [10, 50]),
        ],
        "rss_baseline_mb": 100.0,
        "rss_peak_mb": 150.0,
        "seconds": 1.0,
    }
    cfg = {"budget": 3, "jobs": 1, "shape": 64, "patch_size": 16, "seeds": [0, 1]}
    s = summarize({"config": cfg, "jobs": [job]})
    row = s["rows"][0]
    assert row["steps_summary"]["median"] == np.inf and row["found_in_budget"] == 0
    assert row["regret_median"] == [1.0, 0.75, 0.25] and row["final_regret"] == 0.25
    assert row["map_error"] == 1.0 and row["fallbacks"] == 1 and row["rss_growth_mb"] == 50.0
    # the N = 101 decision is left out of the latency statistics
    assert row["latency"]["n"] == 4 and row["latency"]["median"] == pytest.approx(0.25)
    assert row["latency_by_n"]["10"]["wall"] == pytest.approx(0.2)
    assert s["random_expected"]["stem"]["median"] == 66
    assert [t["verdict"] for t in s["targets"]] == ["FAIL", "undetermined", "PASS"]
