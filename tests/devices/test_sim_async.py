"""The ophyd-async simulated instrument: same keys, same geometry, same experiment as the v1 one."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bluesky.plans import count
from ophyd_async.plan_stubs import ensure_connected

from autoscope import plans
from autoscope.devices.sim import SimMicroscope
from autoscope.devices.sim_async import SimAsyncMicroscope
from autoscope.errors import InputDataError
from autoscope.protocols import Instrument
from autoscope.sim import make_sample
from autoscope.testing import DocumentRecorder, TinySample


def _value(RE, signal):
    return asyncio.run_coroutine_threadsafe(signal.get_value(), RE.loop).result(5)


def _pair(sample, **kw):
    return SimMicroscope(sample, seed=3, **kw), SimAsyncMicroscope(sample, seed=3, **kw)


def test_same_keys_geometry_and_configuration_as_v1(RE):
    v1, a = _pair(TinySample(seed=0))
    RE(ensure_connected(a))
    assert isinstance(a, Instrument) and isinstance(v1, Instrument)
    for part in ("structure", "spectrometer"):
        d1, d2 = getattr(v1, part).describe(), getattr(a, part).describe()
        assert set(d1) == set(d2)
        for k in d1:
            assert d1[k]["shape"] == d2[k]["shape"], k
        c1 = {k: v["value"] for k, v in getattr(v1, part).read_configuration().items()}
        c2 = {k: v["value"] for k, v in getattr(a, part).read_configuration().items()}
        for k in set(c1) & set(c2):
            np.testing.assert_array_equal(np.asarray(c1[k]), np.asarray(c2[k]), err_msg=k)
    assert a.probe.x.name == v1.probe.x.name == "microscope_probe_x"
    assert a.pixel_to_position(2, 3) == v1.pixel_to_position(2, 3) == (1.5, 1.0)
    assert a.position_to_pixel(1.4, 1.1) == (2, 3)
    assert a.probe.x.limits == tuple(v1.probe.x.limits)
    info = a.describe_instrument()
    assert info["sample"] == TinySample(seed=0).describe() and info["limits"]["x"] == [0.0, 11.5]


def test_not_connected_is_a_clear_error():
    mic = SimAsyncMicroscope(TinySample(seed=0))
    with pytest.raises(RuntimeError, match="not connected.*ensure_connected"):
        plans.dkl_explore(
            mic, mic.sample.default_scalarizer, budget=3, n_seed=2, patch_size=8, seed=0
        )


def test_out_of_limits_move_fails_before_moving(RE):
    mic = SimAsyncMicroscope(TinySample(seed=0))
    RE(ensure_connected(mic))
    with pytest.raises(
        InputDataError, match=r"probe x=99.0 nm is outside its limits \[0.0, 11.5\]"
    ):
        mic.probe.x.set(99.0)
    with pytest.raises(InputDataError, match="finite"):
        mic.probe.y.set(float("nan"))
    import bluesky.plan_stubs as bps

    with pytest.raises(InputDataError, match="x=-3.0"):  # the same error through the RunEngine
        RE(bps.mv(mic.probe.x, -3.0))
    assert _value(RE, mic.probe.x.readback) == 0.0  # nothing moved


def test_bad_construction_is_refused():
    with pytest.raises(ValueError, match="must be a sample"):
        SimAsyncMicroscope(object())
    with pytest.raises(ValueError, match="dwell"):
        SimAsyncMicroscope(TinySample(seed=0), dwell=-1.0)
    with pytest.raises(ValueError, match="seed"):
        SimAsyncMicroscope(TinySample(seed=0), seed=-2)


def test_spectra_and_noise_match_v1_point_by_point(RE):
    """Same sample, same seed: the async spectrometer measures exactly the v1 spectra."""
    from bluesky.plans import list_scan

    sample = TinySample(seed=0)
    v1, a = _pair(sample)
    RE(ensure_connected(a))
    xs, ys = [0.0, 1.5, 3.0], [0.5, 1.0, 11.5]
    out = []
    for mic in (v1, a):
        rec = DocumentRecorder()
        RE(list_scan([mic.spectrometer], mic.probe.x, xs, mic.probe.y, ys), rec)
        ev = [d for n, d in rec.documents if n == "event"]
        out.append(np.array([e["data"]["microscope_spectrometer_spectrum"] for e in ev]))
        assert [e["data"]["microscope_spectrometer_row"] for e in ev] == [1, 2, 23]
        assert [e["data"]["microscope_spectrometer_col"] for e in ev] == [0, 3, 6]
    np.testing.assert_array_equal(out[0], out[1])
    rec = DocumentRecorder()
    RE(count([a.structure]), rec)
    (ev,) = [d for n, d in rec.documents if n == "event"]
    np.testing.assert_array_equal(ev["data"]["microscope_structure_image"], sample.image)


def test_timing_is_asyncio_and_honoured(RE):
    import time

    mic = SimAsyncMicroscope(TinySample(seed=0), dwell=0.05, move_time=0.01)
    RE(ensure_connected(mic))
    import bluesky.plan_stubs as bps

    t0 = time.perf_counter()
    RE(bps.mv(mic.probe.x, 5.0))  # 10 px of travel at 0.01 s/px
    t_move = time.perf_counter() - t0
    t0 = time.perf_counter()
    RE(bps.trigger(mic.spectrometer, wait=True))
    t_dwell = time.perf_counter() - t0
    assert 0.09 < t_move < 0.5 and 0.045 < t_dwell < 0.5


def test_dkl_explore_stored_and_identical_on_both_backends(RE, catalog, experiment, checked):
    """One plan on ophyd v1 and ophyd-async, stored by TiledWriter: same choices and spectra."""
    sample = make_sample("stem", shape=(32, 32), seed=0)
    traces = []
    for cls in (SimMicroscope, SimAsyncMicroscope):
        mic = cls(sample, seed=0)
        uid, docs = experiment(RE, mic, catalog, sample.default_scalarizer,
                               connect=cls is SimAsyncMicroscope)  # fmt: skip
        traces.append(checked(catalog, uid, docs, budget=8, image=sample.image, axis=sample.axis))
    t1, t2 = traces
    assert t1.measured_ids == t2.measured_ids
    np.testing.assert_array_equal(t1.spectra, t2.spectra)
    np.testing.assert_array_equal(t1.positions, t2.positions)
    assert t2.specs["instrument"]["class"] == "SimAsyncMicroscope"
    assert t2.specs["keys"] == t1.specs["keys"]
