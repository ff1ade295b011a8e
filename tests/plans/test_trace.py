"""trace.load: finding runs (client, path, default catalog, index) and reading them fast."""

from __future__ import annotations

import time

import numpy as np
import pytest

from autoscope import plans, trace
from autoscope.storage import make_writer

CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


@pytest.fixture(scope="module")
def stored(tmp_path_factory, _catalog_template, runner):
    """Two short runs (fake recommender) in an embedded catalog: (client, directory, uids)."""
    import shutil

    from autoscope.devices.sim import SimMicroscope
    from autoscope.features import candidate_grid
    from autoscope.storage import close_catalog, open_catalog
    from autoscope.testing import FakeRecommender, TinySample

    directory = tmp_path_factory.mktemp("trace-catalog")
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    client = open_catalog(directory)
    uids = []
    with pytest.MonkeyPatch.context() as mp:

        def fake(image, config):
            cand = candidate_grid(image.shape[:2], config["patch_size"])
            return FakeRecommender(cand, seed=config["seed"])

        mp.setattr(plans, "_make_recommender", fake)
        for seed in (0, 1):
            mic = SimMicroscope(TinySample(seed=0), seed=1)
            plan = plans.dkl_explore(mic, CENTROID, budget=5, n_seed=2, patch_size=8, seed=seed)
            uids.append(runner(plan, client)[0])
    yield client, directory, uids
    close_catalog(client)


@pytest.fixture
def two_runs(stored):
    return stored[2]


@pytest.fixture
def catalog(stored):
    return stored[0]


def test_load_by_client_path_default_and_index(two_runs, catalog, stored, monkeypatch):
    first, second = two_runs
    assert trace.load(catalog[first]).uid == first  # a run client
    assert trace.load(first, catalog).uid == first  # a uid and a client
    assert trace.load(second, str(stored[1])).uid == second  # a directory
    assert trace.load(-1, catalog).uid == second and trace.load(-2, catalog).uid == first
    monkeypatch.setenv("AUTOSCOPE_CATALOG", str(stored[1]))
    assert trace.load(first).uid == first  # the default catalog


@pytest.mark.parametrize(
    ("ref", "match"),
    [
        ("0000-no-such-uid", "no run with uid '0000-no-such-uid'"),
        (0, r"must be negative \(-1: latest\), got 0"),
        (-3, "the catalog holds 2 runs, no run at index -3"),
        (1.5, "expected a run client, a uid or a negative index, got 1.5"),
        (True, "expected a run client"),
    ],
)
def test_load_rejects_unknown_runs(two_runs, catalog, ref, match):
    with pytest.raises(ValueError, match=match):
        trace.load(ref, catalog)


def test_patches_and_sample_are_rebuilt_from_the_trace(two_runs, catalog, tiny_mic):
    """The trace alone rebuilds the patches and the simulated sample."""
    tr = trace.load(two_runs[0], catalog)
    patches = tr.patches(normalize=None)
    assert patches.shape == (289, 8, 8)
    r, c = tr.candidates[100]
    window = tiny_mic.sample.image[r - 4 : r + 4, c - 4 : c + 4]
    np.testing.assert_allclose(patches[100], window, rtol=1e-6)  # float32 patches
    sample = tr.sample()
    assert type(sample).__name__ == "TinySample"
    np.testing.assert_array_equal(sample.image, tiny_mic.sample.image)
    tr.instrument = {"sample": {"kind": "replay"}}
    assert tr.sample() is None


def test_a_databroker_2_run_is_read_as_is(two_runs, catalog):
    # decision 0013: databroker 2's client classes are bluesky-tiled-plugins' own
    client = pytest.importorskip("databroker.client")
    from bluesky_tiled_plugins import BlueskyRun

    assert client.BlueskyRun is BlueskyRun
    run = catalog[two_runs[0]]
    assert isinstance(run, client.BlueskyRun)
    tr = trace.load(run)
    assert tr.uid == two_runs[0] and len(tr.measured_ids) == 5


def test_read_stream_of_a_missing_stream_is_empty(two_runs, catalog):
    run = catalog[two_runs[0]]
    assert trace.read_stream(run, "interventions") == {}
    data = trace.read_stream(run, "primary")
    assert data["seq_num"].tolist() == [1, 2, 3, 4, 5]
    assert data["microscope_spectrometer_spectrum"].shape == (5, 64)


@pytest.mark.slow
def test_loading_a_200_step_run_with_maps_is_fast(RE, tmp_path, fake_recommender):
    """200 spectra and 200 x 3 maps over 2,401 candidates load in a few requests (< 5 s here)."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.sim import make_sample
    from autoscope.storage import close_catalog, open_catalog

    catalog = open_catalog(tmp_path / "catalog")
    RE.subscribe(make_writer(catalog))
    mic = SimMicroscope(make_sample("stem", shape=(64, 64), seed=0), seed=0)
    plan = plans.dkl_explore(mic, mic.sample.default_scalarizer, budget=200, n_seed=10,
                             patch_size=16, seed=0)  # fmt: skip
    (uid,) = RE(plan)
    t0 = time.perf_counter()
    tr = trace.load(uid, catalog)
    elapsed = time.perf_counter() - t0
    assert tr.spectra.shape == (200, mic.sample.spectrum_shape[0])
    assert tr.maps["mean"].shape == (191, 2401)
    close_catalog(catalog)
    assert elapsed < 5.0, f"trace.load took {elapsed:.2f} s"


def test_runs_written_with_every_array_as_a_node_load_the_same(
    RE, tmp_path, collector, tiny_mic, fake_recommender, trace_matches, _catalog_template
):
    """``max_array_size=0`` (what SQLite needs for arrays of <= 16 elements) reads back the same."""
    import shutil

    from autoscope.storage import close_catalog, open_catalog

    (tmp_path / "c").mkdir()
    shutil.copyfile(_catalog_template, tmp_path / "c" / "catalog.db")
    client = open_catalog(tmp_path / "c")
    try:
        RE.subscribe(make_writer(client, max_array_size=0))
        (uid,) = RE(plans.dkl_explore(tiny_mic, CENTROID, budget=4, n_seed=2, patch_size=8))
        trace_matches(trace.load(uid, client), collector)
    finally:
        close_catalog(client)
