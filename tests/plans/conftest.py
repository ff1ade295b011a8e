"""Fixtures of the plan and trace tests: a tiny instrument, a document collector, fast models."""

from __future__ import annotations

import types

import numpy as np
import pytest

#: a small, fast DKL (20 Adam steps at the first fit, 5 at each warm start)
FAST_DKL = {"name": "dkl", "params": {"n_iter": 20, "warm_iter": 5}}


class Collector:
    """A RunEngine callback that keeps every document, and events by stream name."""

    def __init__(self):
        self.docs: list[tuple[str, dict]] = []
        self._streams: dict[str, str] = {}

    def __call__(self, name, doc):
        self.docs.append((name, doc))
        if name == "descriptor":
            self._streams[doc["uid"]] = doc["name"]

    def events(self, stream):
        return [
            d for n, d in self.docs if n == "event" and self._streams[d["descriptor"]] == stream
        ]

    def data(self, stream, key):
        return [e["data"][key] for e in self.events(stream)]

    def one(self, name):
        (doc,) = [d for n, d in self.docs if n == name]
        return doc


@pytest.fixture
def tiny_mic():
    """A SimMicroscope over the 24 x 24 TinySample (64-channel spectra, 0-10 eV)."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.testing import TinySample

    return SimMicroscope(TinySample(seed=0), seed=1)


@pytest.fixture
def collector(RE):
    """A :class:`Collector` subscribed to ``RE``."""
    c = Collector()
    RE.subscribe(c)
    return c


@pytest.fixture
def fake_recommender(monkeypatch):
    """Make dkl_explore build a ``FakeRecommender`` (or ``cls``) instead of the DKL one.

    Returns a namespace whose ``built`` list holds the recommenders built; set
    ``ns.cls`` to another class taking ``(candidates, seed=...)``.
    """
    from autoscope import plans
    from autoscope.features import candidate_grid
    from autoscope.testing import FakeRecommender

    ns = types.SimpleNamespace(cls=FakeRecommender, built=[])

    def make(image, config):
        cand = candidate_grid(np.shape(image)[:2], config["patch_size"], config["stride"])
        rec = ns.cls(cand, seed=config["seed"])
        ns.built.append(rec)
        return rec

    monkeypatch.setattr(plans, "_make_recommender", make)
    return ns


@pytest.fixture
def fast_dkl():
    return FAST_DKL


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return a.shape == b.shape and np.array_equal(
            a.astype(float), b.astype(float), equal_nan=True
        )
    return a.shape == b.shape and np.array_equal(a, b)


def assert_trace_matches(tr, col: Collector, keys=None) -> None:
    """Every spectrum, scalar, pixel and decision in ``tr`` is what the plan emitted."""
    start, stop = col.one("start"), col.one("stop")
    ns = start["autoscope"]
    keys = ns["keys"]
    assert tr.uid == start["uid"]
    assert tr.specs == ns
    assert tr.stop["exit_status"] == stop["exit_status"] and tr.stop["reason"] == stop["reason"]
    assert tr.stop["num_events"] == stop["num_events"]
    (structure,) = col.events("structure")
    assert _same(tr.image, structure["data"][keys["image"]])
    assert _same(tr.candidates, structure["data"]["geometry_candidates"])
    assert tr.patch_size == structure["data"]["geometry_patch_size"]
    assert tr.stride == structure["data"]["geometry_stride"]
    prim = col.events("primary")
    assert tr.n_measured == len(prim)
    assert _same(tr.spectra, [e["data"][keys["spectrum"]] for e in prim])
    assert _same(tr.values, [e["data"]["point_value"] for e in prim])
    assert tr.measured_ids == [e["data"]["point_candidate_id"] for e in prim]
    assert _same(tr.rows, [e["data"]["point_row"] for e in prim])
    assert _same(tr.cols, [e["data"]["point_col"] for e in prim])
    assert tr.phases == [e["data"]["point_phase"] for e in prim]
    assert _same(tr.steps, [e["data"]["point_step"] for e in prim])
    xy = [[e["data"][keys["probe_x"]], e["data"][keys["probe_y"]]] for e in prim]
    assert _same(tr.positions, np.asarray(xy, dtype=float).reshape(-1, 2))
    assert _same(tr.axis, ns["axis"])
    dec = col.events("decisions")
    assert len(tr.decisions) == len(dec)
    for got, ev in zip(tr.decisions, dec, strict=True):
        for k, v in ev["data"].items():
            name = k.removeprefix("decision_")
            if name.endswith("_map"):
                continue
            assert _same(got[name], v), (name, got[name], v)
    if any(k.endswith("_map") for k in (dec[0]["data"] if dec else {})):
        for name, key in (
            ("mean", "mean_map"),
            ("std", "std_map"),
            ("acquisition", "acquisition_map"),
        ):
            assert _same(tr.maps[name], [e["data"][f"decision_{key}"] for e in dec])
    else:
        assert tr.maps is None


@pytest.fixture
def trace_matches():
    """``trace_matches(trace, collector)`` asserts the trace equals the emitted documents."""
    return assert_trace_matches


def run_plan(plan, client=None):
    """Run ``plan`` under a fresh RunEngine (writing to ``client`` if given); return (uid, docs)."""
    import asyncio

    from bluesky import RunEngine

    from autoscope.storage import make_writer

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    col = Collector()
    try:
        engine.subscribe(col)
        if client is not None:
            engine.subscribe(make_writer(client))
        (uid,) = engine(plan)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        engine._th.join()
        loop.close()
    return uid, col


@pytest.fixture(scope="session")
def runner():
    """``runner(plan, client=None) -> (uid, Collector)`` with a RunEngine of its own."""
    return run_plan


@pytest.fixture(scope="module")
def module_catalog(tmp_path_factory, _catalog_template):
    """An embedded catalog shared by the tests of one module."""
    import shutil

    from autoscope.storage import close_catalog, open_catalog

    directory = tmp_path_factory.mktemp("plans-catalog")
    shutil.copyfile(_catalog_template, directory / "catalog.db")
    client = open_catalog(directory)
    yield client
    close_catalog(client)
