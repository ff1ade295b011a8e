"""Replay fixtures: one short DKL experiment, stored in an embedded catalog, loaded back."""

from __future__ import annotations

import asyncio
import shutil

import pytest

#: a small, fast DKL (the recommender's seed decides the rest)
MODEL = {"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5}}
CENTROID = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}


def run_experiment(client, microscope, scalarizer, *, policy="ei", budget=12, n_seed=4,
                   patch_size=6, seed=1, model=MODEL, map_every=1):  # fmt: skip
    """Run dkl_explore under a fresh RunEngine writing to ``client``; return the uid."""
    from bluesky import RunEngine

    from autoscope.plans import dkl_explore
    from autoscope.storage import make_writer

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    try:
        engine.subscribe(make_writer(client))
        kw = {"budget": budget, "n_seed": n_seed, "patch_size": patch_size, "seed": seed}
        plan = dkl_explore(microscope, scalarizer, policy, model=model, map_every=map_every, **kw)
        (uid,) = engine(plan)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    return uid


@pytest.fixture(scope="session")
def tiny_catalog(tmp_path_factory, _catalog_template):
    """An embedded catalog holding one 12-point EI run on a 16 x 16 TinySample (patches 6 x 6)."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.storage import close_catalog, open_catalog
    from autoscope.testing import TinySample

    directory = tmp_path_factory.mktemp("replay-catalog")
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    client = open_catalog(directory)
    mic = SimMicroscope(TinySample(shape=(16, 16), seed=0), seed=0)
    uid = run_experiment(client, mic, CENTROID)
    yield client, uid
    close_catalog(client)


@pytest.fixture(scope="session")
def tiny_trace(tiny_catalog):
    """The stored run, read back with :func:`autoscope.trace.load`."""
    from autoscope import trace

    client, uid = tiny_catalog
    return trace.load(uid, catalog=client)


@pytest.fixture(scope="session")
def experiment():
    """:func:`run_experiment`, for tests that run their own (tests cannot import conftest)."""
    return run_experiment
