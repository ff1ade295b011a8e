"""Benchmark metrics on hand-made inputs: exact numbers."""

import numpy as np
import pytest

from autoscope.bench import metrics as m
from autoscope.bench.methods import initial_order, raster_order
from autoscope.errors import InputDataError


def test_top_mask_counts_ceil_of_one_percent():
    truth = np.arange(200.0)
    top = m.top_mask(truth)
    assert np.flatnonzero(top).tolist() == [198, 199]
    # 2401 candidates -> ceil(24.01) = 25
    assert m.top_mask(np.arange(2401.0)).sum() == 25
    assert m.top_mask(np.arange(10.0), 0.3).sum() == 3


def test_top_mask_includes_ties_and_skips_nan():
    truth = np.zeros(100)
    truth[[3, 50, 70]] = 1.0
    assert np.flatnonzero(m.top_mask(truth)).tolist() == [3, 50, 70]
    truth = np.array([np.nan, 5.0, 1.0, 2.0])
    assert m.top_mask(truth, 0.25).tolist() == [False, True, False, False]


def test_top_mask_rejects_bad_input():
    with pytest.raises(InputDataError, match="fraction"):
        m.top_mask(np.arange(5.0), 0.0)
    with pytest.raises(InputDataError, match="1-D"):
        m.top_mask(np.ones((2, 2)))


def test_steps_to_top_is_one_based_and_none_when_missed():
    top = m.top_mask(np.arange(200.0))
    assert m.steps_to_top([5, 7, 199, 3], top) == 3
    assert m.steps_to_top([198], top) == 1
    assert m.steps_to_top([1, 2, 3], top) is None
    assert m.steps_to_top([], top) is None
    with pytest.raises(InputDataError, match="measured ids"):
        m.steps_to_top([200], top)


def test_regret_curve_exact():
    truth = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(m.regret_curve([1, 0, 3, 4], truth), [0.75, 0.75, 0.25, 0.0])
    assert m.regret_curve([], truth).shape == (0,)
    np.testing.assert_array_equal(m.regret_curve([0, 1], np.ones(3)), [0.0, 0.0])


def test_map_error_is_rmse_over_sd():
    truth = np.array([0.0, 1.0, 2.0, 3.0])
    assert m.map_error(truth, truth) == 0.0
    assert m.map_error(np.full(4, truth.mean()), truth) == pytest.approx(1.0)
    assert m.map_error(truth + 0.5, truth) == pytest.approx(0.5 / truth.std())
    assert np.isnan(m.map_error([0.0, np.nan, 1.0, 1.0], truth))


def test_random_baseline_exact_small_case():
    # n = 10, k = 1: P(T > t) = (10 - t) / 10, E[T] = 11 / 2, median 5
    assert m.random_survival(10, 1, 3) == pytest.approx(0.7)
    assert m.random_steps_expected(10, 1) == 5.5
    assert m.random_steps_quantile(10, 1, 0.5) == 5
    assert m.random_steps_quantile(10, 1, 1.0) == 10
    assert m.random_survival(10, 3, 8) == 0.0


def test_random_expectation_matches_survival_sum_and_simulation():
    n, k = 2401, 25
    mean = sum(m.random_survival(n, k, t) for t in range(n - k + 1))
    assert mean == pytest.approx(m.random_steps_expected(n, k), rel=1e-9)
    assert m.random_steps_expected(n, k) == pytest.approx(2402 / 26)
    rng = np.random.default_rng(0)
    top = np.zeros(50, bool)
    top[:3] = True
    sims = [m.steps_to_top(rng.permutation(50), top) for _ in range(4000)]
    assert np.mean(sims) == pytest.approx(51 / 4, abs=0.3)
    assert np.median(sims) == pytest.approx(m.random_steps_quantile(50, 3), abs=1)


def test_steps_summary_counts_misses_as_infinite():
    s = m.steps_summary([3, None, 5])
    assert (s["median"], s["min"], s["max"], s["found"], s["runs"]) == (5.0, 3.0, np.inf, 2, 3)
    assert m.steps_summary([None, None, 4])["median"] == np.inf
    assert m.steps_summary([2, 4])["median"] == 3.0
    assert m.steps_summary([2, None])["median"] == np.inf


def test_latency_stats():
    s = m.latency_stats([1.0, 2.0, 3.0, 4.0])
    assert (s["median"], s["p95"], s["n"]) == (2.5, pytest.approx(3.85), 4)
    assert np.isnan(m.latency_stats([])["median"])


def test_nearest_neighbour_map():
    cands = np.array([[0, 0], [0, 5], [5, 9], [9, 9]])
    pred = m.nearest_neighbour_map(cands, [0, 3], [1.0, 2.0])
    assert pred.tolist() == [1.0, 1.0, 2.0, 2.0]


def test_orders_are_seeded_permutations():
    a, b = initial_order(100, 3), initial_order(100, 3)
    assert np.array_equal(a, b) and sorted(a.tolist()) == list(range(100))
    assert not np.array_equal(a, initial_order(100, 4))


def test_raster_order_starts_with_a_coarse_grid():
    rr, cc = np.meshgrid(np.arange(4, 14), np.arange(4, 14), indexing="ij")
    cands = np.stack([rr.ravel(), cc.ravel()], 1)  # a 10 x 10 candidate grid
    order = raster_order(cands, budget=25, seed=0)  # spacing ceil(sqrt(100/25)) = 2
    assert sorted(order.tolist()) == list(range(100))
    first = cands[order[:25]]
    assert len({(r % 2, c % 2) for r, c in first}) == 1  # one offset: a regular grid
    assert first[:, 0].tolist() == sorted(first[:, 0].tolist())  # row by row
    assert np.array_equal(order, raster_order(cands, 25, 0))
