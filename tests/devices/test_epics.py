"""EPICS: ``autoscope ioc`` as a separate process, the instrument over CA, a whole run."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from ophyd_async.core import NotConnectedError
from ophyd_async.plan_stubs import ensure_connected

from autoscope.devices.epics import IOCError
from autoscope.devices.sim import SimMicroscope
from autoscope.errors import InputDataError
from autoscope.protocols import Instrument
from autoscope.sim import make_sample

pytestmark = pytest.mark.server

SHAPE = 32


@pytest.fixture(scope="module")
def stem_ioc(ca_ports, ioc_process):
    """A STEM IOC (32 x 32, seed 0) serving ``TSTEM:`` on the first session port."""
    ioc_process(ca_ports[0], "TSTEM:", "--sample", "stem", "--shape", str(SHAPE))
    return "TSTEM:"


@pytest.fixture(autouse=True)
def _drop_channels(RE):
    """Clear aioca's channels before the test's event loop closes (they are bound to it)."""
    yield
    import aioca

    aioca.purge_channel_caches()


def _run(RE, coro):
    return asyncio.run_coroutine_threadsafe(coro, RE.loop).result(10)


def test_ioc_serves_the_sample_as_the_in_process_instrument(RE, stem_ioc):
    from autoscope.devices.epics import EpicsMicroscope

    mic = EpicsMicroscope(stem_ioc)
    RE(ensure_connected(mic))
    assert isinstance(mic, Instrument)
    sample = make_sample("stem", shape=(SHAPE, SHAPE), seed=0)
    ref = SimMicroscope(sample, seed=0)
    for part in ("structure", "spectrometer"):
        d_ref, d_ca = getattr(ref, part).describe(), getattr(mic, part).describe()
        assert set(d_ref) == set(d_ca)
        for k in d_ref:
            assert d_ref[k]["shape"] == d_ca[k]["shape"], k
    conf = {k: v["value"] for k, v in mic.spectrometer.read_configuration().items()}
    np.testing.assert_allclose(conf["microscope_spectrometer_axis"], sample.axis)
    assert conf["microscope_spectrometer_axis_units"] == sample.axis_units
    assert mic.grid.shape == (SHAPE, SHAPE) and mic.grid.pixel_size == sample.pixel_size
    assert mic.pixel_to_position(3, 5) == ref.pixel_to_position(3, 5)
    info = mic.describe_instrument()
    assert info["sample"] == sample.describe() and info["prefix"] == stem_ioc


def test_limits_checked_before_a_put_and_again_by_the_ioc(RE, stem_ioc):
    from autoscope.devices.epics import EpicsMicroscope

    mic = EpicsMicroscope(stem_ioc)
    RE(ensure_connected(mic))
    before = _run(RE, mic.probe.x.readback.get_value())
    with pytest.raises(InputDataError, match=r"probe x=99.0 nm is outside its limits \[0.0, 3.1\]"):
        mic.probe.x.set(99.0)
    assert _run(RE, mic.probe.x.readback.get_value()) == before

    async def raw_move():  # past the client's check: the IOC refuses, and the client says so
        await mic.probe.x._move(99.0)

    with pytest.raises(IOCError, match=r"TSTEM:PROBE:X = 99.0: probe x=99.0 nm is outside"):
        _run(RE, raw_move())
    assert "outside its limits" in _run(RE, mic.error.get_value())
    assert _run(RE, mic.status.get_value()) == "Error"
    assert _run(RE, mic.probe.x.readback.get_value()) == before


def test_a_dead_prefix_fails_to_connect_quickly(RE, ca_ports):
    from autoscope.devices.epics import EpicsMicroscope

    mic = EpicsMicroscope("NOBODY:HERE:")
    with pytest.raises(NotConnectedError):
        _run(RE, mic.connect(timeout=1.0))


def test_whole_experiment_over_ca_equals_the_in_process_one(
    RE, ca_ports, ioc_process, catalog, experiment, checked
):
    """A fresh IOC and the in-process instrument, same seed: same choices, same spectra, stored."""
    from autoscope.devices.epics import EpicsMicroscope

    sample = make_sample("stem", shape=(SHAPE, SHAPE), seed=0)
    ioc_process(ca_ports[1], "TRUN:", "--sample", "stem", "--shape", str(SHAPE))
    mic = EpicsMicroscope("TRUN:")
    uid, docs = experiment(RE, mic, catalog, sample.default_scalarizer)
    tr = checked(catalog, uid, docs, budget=8, image=sample.image, axis=sample.axis)
    ref = SimMicroscope(sample, seed=0)
    uid_ref, docs_ref = experiment(RE, ref, catalog, sample.default_scalarizer, connect=False)
    tr_ref = checked(catalog, uid_ref, docs_ref, budget=8)
    assert tr.measured_ids == tr_ref.measured_ids
    np.testing.assert_allclose(tr.spectra, tr_ref.spectra, rtol=1e-12)
    np.testing.assert_allclose(tr.positions, tr_ref.positions, rtol=1e-12)
    assert tr.specs["instrument"]["class"] == "EpicsMicroscope"
    assert tr.specs["keys"] == tr_ref.specs["keys"]


def test_fourd_ioc_serves_2d_patterns_and_its_sample(RE, ca_ports, ioc_process):
    """A 4D-STEM IOC: (K, K) patterns travel flat and come back reshaped; the sample's truth too."""
    import bluesky.plan_stubs as bps

    from autoscope.devices.epics import EpicsMicroscope

    ioc_process(ca_ports[2], "T4D:", "--sample", "fourd", "--shape", "16", "--seed", "3")
    mic = EpicsMicroscope("T4D:")
    RE(ensure_connected(mic))
    sample = make_sample("fourd", shape=(16, 16), seed=3)
    (key,) = [k for k in mic.spectrometer.describe() if k.endswith("_spectrum")]
    assert mic.spectrometer.describe()[key]["shape"] == list(sample.spectrum_shape)
    assert mic.describe_instrument()["sample"] == sample.describe()
    x, y = mic.pixel_to_position(7, 2)
    RE(bps.mv(mic.probe.x, x, mic.probe.y, y))
    RE(bps.trigger(mic.spectrometer, wait=True))
    reading = _run(RE, mic.spectrometer.read())
    pattern = np.asarray(reading[key]["value"])
    assert pattern.shape == sample.spectrum_shape
    assert reading["microscope_spectrometer_row"]["value"] == 7
    clean = sample.spectrum(7, 2)
    assert np.corrcoef(pattern.ravel(), clean.ravel())[0, 1] > 0.9
