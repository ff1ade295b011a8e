"""The atomai reference row: atomai 0.8.1 beside the CPU torch, dklGPR decisions in the loop."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest

from autoscope.bench.methods import ATOMAI, initial_order, run_method
from autoscope.bench.runner import REFERENCE, BenchConfig, jobs_for, run_job
from autoscope.bench.tasks import build_task
from autoscope.errors import InputDataError

# not importorskip: a plain ``import atomai`` fails beside the CPU torch (the shim's job)
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("atomai") is None, reason="atomai (the reference extra) not installed"
)
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def task():
    return build_task("stem", 0, shape=24, patch_size=8)


def test_the_shim_defines_torchvision_schemas_and_atomai_imports():
    from autoscope.bench._atomai_shim import TORCHVISION_SCHEMAS, import_atomai

    atomai = import_atomai()
    assert atomai.__version__ == "0.8.1"
    assert hasattr(atomai.models, "dklGPR")
    for name in TORCHVISION_SCHEMAS:  # defined (schema only, or the compiled ops)
        schema = torch._C._dispatch_find_schema_or_throw(f"torchvision::{name}", "")
        assert schema is not None
    assert import_atomai() is atomai  # a second call reuses the module


def test_atomai_decisions_through_the_benchmark_loop(task):
    method = dataclasses.replace(ATOMAI, options={"epochs": 30})
    dtype = torch.get_default_dtype()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - atomai reseeds the legacy RNG
    res = run_method(task, method, 0, budget=8, n_seed=5)

    assert res.error is None and res.stop_reason == "budget" and res.fallbacks == 0
    seeds = [int(c) for c in initial_order(task.n_candidates, 0)[:5]]
    assert res.order[:5] == seeds  # the same seed points as every other method
    chosen = res.order[5:]
    assert len(chosen) == 3 and len(set(res.order)) == 8  # never a measured candidate again
    assert all(0 <= c < task.n_candidates for c in chosen)
    assert res.n_train == [5, 6, 7]
    assert len(res.cpu) == len(res.wall) == 3 and min(res.cpu) > 0 and min(res.wall) > 0
    assert set(res.phases) >= {"fit", "predict", "acquire", "total"}
    assert len(res.pred) == len(res.pred_var) == task.n_candidates
    assert np.isfinite(res.pred).all() and (np.asarray(res.pred_var) > 0).all()
    # atomai's global side effects (float64 default dtype, reseeded numpy) are undone
    assert torch.get_default_dtype() == dtype
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_same_seed_same_choices(task):
    from autoscope.bench.atomai_ref import atomai_recommender

    def first_choice():
        rec = atomai_recommender(task, 3, epochs=10)
        perm = initial_order(task.n_candidates, 3)
        rng = np.random.default_rng(0)
        rec.ingest([{"_id": int(c), "value": task.measure(int(c), rng)} for c in perm[:6]])
        pick = rec.suggest(2)
        return [p["_id"] for p in pick], set(int(c) for c in perm[:6])

    (a, measured), (b, _) = first_choice(), first_choice()
    assert a == b and len(set(a)) == 2 and not set(a) & measured


def test_bad_input_is_refused_before_any_training(task):
    from autoscope.bench.atomai_ref import AtomaiDKL, atomai_recommender

    with pytest.raises(InputDataError, match="features"):
        AtomaiDKL(np.zeros((4, 3)), np.zeros((5, 2), int))
    rec = atomai_recommender(task, 0, epochs=5)
    with pytest.raises(InputDataError, match=">= 2 measured"):
        rec.suggest(1)
    with pytest.raises(InputDataError, match="candidate id"):
        rec.ingest([{"_id": task.n_candidates, "value": 1.0}])
    rec.ingest([{"_id": 0, "value": 1.0}])
    with pytest.raises(InputDataError, match="ingested already"):
        rec.ingest([{"_id": 0, "value": 2.0}])
    with pytest.raises(InputDataError, match="finite"):
        rec.ingest([{"_id": 1, "value": float("nan")}])


def test_the_timed_reference_job_runs_on_stem_and_spm():
    assert REFERENCE["atomai"] == ("stem", "spm")
    config = BenchConfig.quick_config(
        tasks=["stem", "spm"], methods=["atomai"], shape=24, reference_sizes=(4, 8)
    )
    assert jobs_for(config) == [("stem", "atomai"), ("spm", "atomai")]
    assert BenchConfig().methods[-1] == "atomai"  # the default run times atomai itself
    rec = run_job("stem", "atomai", config.key())
    probe = rec["probe"]
    assert [p["n"] for p in probe] == [4, 8] and rec["runs"] == []
    n = build_task("stem", 0, shape=24, patch_size=8).n_candidates
    perm = initial_order(n, 0)
    for p in probe:
        assert p["cpu"] > 0 and p["wall"] > 0 and p["rss_mb"] > 0
        assert 0 <= p["chosen"] < n and p["chosen"] not in perm[: p["n"]]
