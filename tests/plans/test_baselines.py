"""Baselines (raster, random, direct) and acquire_structure: the streams of dkl_explore."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import plans, scalarizers, trace
from autoscope.storage import make_writer

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


@pytest.fixture
def stored(RE, catalog, collector):
    RE.subscribe(make_writer(catalog))

    def run(plan):
        (uid,) = RE(plan)
        return trace.load(uid, catalog)

    return run


def _same_streams(tr, col, trace_matches, phase, budget):
    trace_matches(tr, col)
    assert tr.maps is None  # baselines record no model maps
    assert tr.n_measured == budget and len(set(tr.measured_ids)) == budget
    assert set(tr.phases) == {phase}
    assert tr.steps.tolist() == list(range(budget))
    assert tr.chosen_ids == tr.measured_ids
    assert tr.decisions[-1]["chosen_id"] == -1
    f = scalarizers.from_spec(CENTROID)
    np.testing.assert_allclose(tr.values, f.apply(tr.spectra, tr.axis), atol=1e-12)
    np.testing.assert_array_equal(tr.candidates[tr.measured_ids], np.c_[tr.rows, tr.cols])


def test_raster_spaces_points_evenly_in_serpentine_order(
    stored, collector, tiny_mic, trace_matches
):
    tr = stored(plans.raster_spectra(tiny_mic, CENTROID, budget=9, patch_size=8))
    _same_streams(tr, collector, trace_matches, "raster", 9)
    # candidate rows/cols 4..20: a 3 x 3 raster at 4, 12, 20, the middle row reversed
    assert list(zip(tr.rows.tolist(), tr.cols.tolist(), strict=True)) == [
        (4, 4), (4, 12), (4, 20), (12, 20), (12, 12), (12, 4), (20, 4), (20, 12), (20, 20),
    ]  # fmt: skip
    assert tr.stop["reason"] == "raster complete"
    assert tr.specs["plan"] == "raster_spectra" and tr.specs["order"] == tr.measured_ids


def test_raster_with_a_step_is_cut_at_the_budget(stored, collector, tiny_mic, trace_matches):
    tr = stored(plans.raster_spectra(tiny_mic, CENTROID, budget=7, patch_size=8, stride=4))
    _same_streams(tr, collector, trace_matches, "raster", 7)
    assert tr.rows.tolist() == [4] * 5 + [8] * 2
    assert tr.cols.tolist() == [4, 8, 12, 16, 20, 20, 16]


def test_random_is_distinct_and_seeded(stored, collector, tiny_mic, trace_matches):
    tr = stored(plans.random_spectra(tiny_mic, CENTROID, budget=10, patch_size=8, seed=7))
    _same_streams(tr, collector, trace_matches, "random", 10)
    again = list(plans.random_spectra(tiny_mic, CENTROID, budget=10, patch_size=8, seed=7))
    assert again[1].kwargs["autoscope"]["order"] == tr.measured_ids
    other = list(plans.random_spectra(tiny_mic, CENTROID, budget=10, patch_size=8, seed=8))
    assert other[1].kwargs["autoscope"]["order"] != tr.measured_ids
    assert tr.stop["reason"] == "budget"


@pytest.mark.parametrize("detector", ["log", "peaks"])
def test_direct_measures_the_detected_object_first(stored, collector, tiny_mic, trace_matches,
                                                   detector):  # fmt: skip
    tr = stored(plans.direct_spectra(tiny_mic, CENTROID, budget=5, detector=detector, patch_size=8))
    n = tr.n_measured
    _same_streams(tr, collector, trace_matches, "direct", n)
    # TinySample has one Gaussian blob: it is found, measured first, within 1 px of its centre
    r0, c0 = tiny_mic.sample.center
    assert np.hypot(tr.rows[0] - r0, tr.cols[0] - c0) <= 1.0
    assert 1 <= n <= 5
    assert tr.stop["reason"] == ("budget" if n == 5 else "no more objects")
    assert tr.specs["detector"]["name"] == detector


def test_direct_finds_many_atom_columns_on_a_stem_sample(runner):
    """On a lattice of atom columns the LoG detector gives at least the budget of objects."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.sim import make_sample

    mic = SimMicroscope(make_sample("stem", shape=(48, 48), seed=0), seed=0)
    plan = plans.direct_spectra(mic, mic.sample.default_scalarizer, budget=12, patch_size=8)
    _, col = runner(plan)
    ids = col.data("primary", "point_candidate_id")
    assert len(ids) == 12 and len(set(ids)) == 12
    assert col.one("stop")["reason"] == "budget"
    image = mic.sample.image
    rows, cols = col.data("primary", "point_row"), col.data("primary", "point_col")
    # objects are bright: the measured pixels are brighter than the image on average
    assert image[rows, cols].mean() > image.mean()


def test_acquire_structure_stores_the_image(RE, catalog, collector, tiny_mic):
    RE.subscribe(make_writer(catalog))
    (uid,) = RE(plans.acquire_structure(tiny_mic, md={"note": "overview"}))
    start = collector.one("start")
    assert start["plan_name"] == "acquire_structure" and start["note"] == "overview"
    (event,) = collector.events("structure")
    np.testing.assert_array_equal(
        event["data"]["microscope_structure_image"], tiny_mic.sample.image
    )
    run = catalog[uid]
    np.testing.assert_array_equal(run["structure"]["microscope_structure_image"].read()[0],
                                  tiny_mic.sample.image)  # fmt: skip
    tr = trace.load(uid, catalog)  # an image, and nothing measured
    np.testing.assert_array_equal(tr.image, tiny_mic.sample.image)
    assert tr.n_measured == 0 and tr.candidates.shape == (0, 2) and tr.decisions == []
    assert tr.specs == {"plan": "acquire_structure"} and tr.stop["exit_status"] == "success"
