"""Simulated instruments: describe/read, limits, timing, presets, and standard plans → Tiled."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from bluesky.plans import count, grid_scan, list_scan
from ophyd.utils.errors import LimitError, UnknownStatusFailure

from autoscope.devices.sim import SimMicroscope, SimSPM, SimSTEM
from autoscope.errors import InputDataError
from autoscope.storage import close_catalog, make_writer, open_catalog
from autoscope.testing import DocumentRecorder, TinySample, assert_stored_equal


class PatternSample(TinySample):
    """TinySample with (K, K) 'diffraction patterns' (a disc shifted by the blob)."""

    kind = "tiny-pattern"
    axis_name = "k"
    axis_units = "mrad"

    def __init__(self, shape=(24, 24), seed=0, k=8):
        super().__init__(shape, seed)
        self.axis = np.linspace(-1.0, 1.0, k)

    def _spectra_at(self, rows, cols):
        ky, kx = np.meshgrid(self.axis, self.axis, indexing="ij")
        shift = 0.5 * self._blob[rows, cols]
        return ((kx[None] - shift[:, None, None]) ** 2 + ky[None] ** 2 < 0.5).astype(float)


@pytest.fixture
def sample():
    return TinySample(seed=0)


@pytest.fixture
def mic(sample):
    return SimMicroscope(sample, seed=1)


# -- describe / read --------------------------------------------------------------------
def test_describe_gives_shapes_dtypes_and_units(mic, sample):
    desc = mic.describe()
    img = desc["microscope_structure_image"]
    assert img["dtype"] == "array" and img["shape"] == [24, 24]
    assert all(type(n) is int for n in img["shape"])
    assert img["dtype_numpy"] == "<f8" and img["units"] == "a.u."
    spec = desc["microscope_spectrometer_spectrum"]
    assert spec["dtype"] == "array" and spec["shape"] == [64]
    assert spec["dtype_numpy"] == "<f8" and spec["units"] == sample.spectrum_units
    for key in ("microscope_probe_x", "microscope_probe_y"):
        assert desc[key]["dtype"] == "number" and desc[key]["shape"] == []
        assert desc[key]["units"] == "nm" and desc[key]["dtype_numpy"] == "<f8"
    assert desc["microscope_spectrometer_row"]["dtype"] == "integer"
    conf = mic.spectrometer.read_configuration()
    np.testing.assert_array_equal(conf["microscope_spectrometer_axis"]["value"], sample.axis)
    assert conf["microscope_spectrometer_axis_units"]["value"] == "eV"
    assert conf["microscope_spectrometer_dwell"]["value"] == 0.0
    assert mic.spectrometer.describe_configuration()["microscope_spectrometer_axis"]["shape"] == [
        64
    ]
    sconf = mic.structure.read_configuration()
    assert sconf["microscope_structure_channels"]["value"] == ["blob"]
    assert sconf["microscope_structure_pixel_size"]["value"] == 0.5


def test_every_component_declares_kind(mic):
    kinds = {
        "probe.x": "hinted",
        "structure.image": "hinted",
        "spectrometer.spectrum": "hinted",
        "spectrometer.row": "normal",
        "spectrometer.axis": "config",
        "spectrometer.dwell": "config",
        "structure.channels": "config",
    }
    for attr, kind in kinds.items():
        obj = mic
        for part in attr.split("."):
            obj = getattr(obj, part)
        assert kind in repr(obj.kind), (attr, obj.kind)


def test_multichannel_image_shape():
    s = TinySample(seed=2, channels=2)
    m = SimMicroscope(s)
    assert m.describe()["microscope_structure_image"]["shape"] == [24, 24, 2]
    m.structure.trigger().wait(1)
    np.testing.assert_array_equal(
        m.structure.read()["microscope_structure_image"]["value"], s.image
    )


def test_spectrum_is_measured_at_the_nearest_pixel_with_device_noise(sample):
    m = SimMicroscope(sample, seed=7)
    m.probe.x.set(3.1 * 0.5).wait(1)  # col 3
    m.probe.y.set(5.4 * 0.5).wait(1)  # row 5
    assert m.current_pixel() == (5, 3)
    m.spectrometer.trigger().wait(1)
    reading = m.spectrometer.read()
    assert reading["microscope_spectrometer_row"]["value"] == 5
    assert reading["microscope_spectrometer_col"]["value"] == 3
    expected = sample.measure(5, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(reading["microscope_spectrometer_spectrum"]["value"], expected)


def test_pixel_position_round_trip_and_errors(mic):
    assert mic.pixel_to_position(2, 3) == (1.5, 1.0)
    assert mic.position_to_pixel(1.5, 1.0) == (2, 3)
    assert mic.probe.x.limits == (0.0, 11.5) and mic.probe.y.limits == (0.0, 11.5)
    with pytest.raises(InputDataError, match="not inside the 24x24 grid"):
        mic.pixel_to_position(24, 0)
    with pytest.raises(InputDataError, match="outside"):
        mic.position_to_pixel(12.5, 0.0)
    with pytest.raises(InputDataError, match="finite"):
        mic.position_to_pixel(float("nan"), 0.0)


def test_describe_instrument_is_json(mic):
    d = json.loads(json.dumps(mic.describe_instrument()))
    assert d["class"] == "SimMicroscope" and d["sample"]["kind"] == "tiny"
    assert d["limits"]["x"] == [0.0, 11.5] and d["seed"] == 1


# -- limits and bad input ---------------------------------------------------------------
@pytest.mark.parametrize("target", [-0.01, 11.51, float("nan"), float("inf"), "1.0", None])
def test_out_of_range_moves_raise_before_motion(mic, target):
    started = []
    mic.probe.x.subscribe(
        lambda **kw: started.append(kw), event_type=mic.probe.x.SUB_START, run=False
    )
    mic.probe.x.set(1.0).wait(1)
    started.clear()
    with pytest.raises(LimitError):
        mic.probe.x.set(target)
    assert started == [] and mic.probe.x.position == 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dwell": -1.0}, "dwell"),
        ({"move_time": float("nan")}, "move_time"),
        ({"image_time": "1"}, "image_time"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_settings_raise(sample, kwargs, match):
    with pytest.raises(InputDataError, match=match):
        SimMicroscope(sample, **kwargs)


def test_not_a_sample_raises():
    with pytest.raises(InputDataError, match="must be a sample"):
        SimMicroscope(np.zeros((8, 8)))


# -- timing -----------------------------------------------------------------------------
def test_instant_motion_by_default(mic):
    st = mic.probe.x.set(11.5)
    assert st.done and mic.probe.x.position == 11.5


def test_move_time_is_proportional_to_distance(sample):
    m = SimMicroscope(sample, move_time=0.01)  # 10 ms per pixel
    t0 = time.monotonic()
    st = m.probe.x.set(10 * 0.5)  # 10 px → 0.1 s
    assert not st.done and m.probe.x.position == 0.0
    st.wait(2)
    elapsed = time.monotonic() - t0
    assert 0.09 <= elapsed < 0.6 and m.probe.x.position == 5.0
    st = m.probe.x.set(5.0)  # zero distance: instant
    assert st.done


def test_stop_interrupts_a_move(sample):
    m = SimMicroscope(sample, move_time=0.05)  # 20 px → 1 s
    st = m.probe.y.set(10.0)
    time.sleep(0.1)
    m.probe.y.stop()
    with pytest.raises(UnknownStatusFailure):
        st.wait(1)
    assert 0.0 < m.probe.y.position < 10.0 and not m.probe.y.moving


def test_dwell_and_image_time_delay_the_status(sample):
    m = SimMicroscope(sample, dwell=0.05, image_time=0.05)
    for det in (m.spectrometer, m.structure):
        t0 = time.monotonic()
        st = det.trigger()
        assert not st.done
        st.wait(2)
        assert time.monotonic() - t0 >= 0.045
    with pytest.raises(RuntimeError, match="in progress"):
        m.spectrometer.trigger()
        m.spectrometer.trigger()


def test_timed_moves_and_dwell_under_the_run_engine(RE, sample):
    m = SimMicroscope(sample, move_time=0.005, dwell=0.01)
    recorder = DocumentRecorder()
    RE.subscribe(recorder)
    t0 = time.monotonic()
    RE(list_scan([m.spectrometer], m.probe.x, [0.0, 5.0, 0.0]))  # 20 px of travel, 3 dwells
    assert time.monotonic() - t0 >= 20 * 0.005 + 3 * 0.01 - 0.005
    cols = [d["data"]["microscope_spectrometer_col"] for n, d in recorder.documents if n == "event"]
    assert cols == [0, 10, 0]


# -- presets ----------------------------------------------------------------------------
def test_simstem_adds_a_diffraction_detector():
    m = SimSTEM(TinySample(seed=3), fourd=PatternSample(seed=3), seed=3)
    desc = m.describe()
    pat = desc["microscope_diffraction_pattern"]
    assert pat["shape"] == [8, 8] and pat["dtype"] == "array" and pat["dims"] == ["ky", "kx"]
    m.probe.x.set(1.0).wait(1)
    m.diffraction.trigger().wait(1)
    value = m.diffraction.read()["microscope_diffraction_pattern"]["value"]
    assert value.shape == (8, 8)
    assert m.diffraction.read()["microscope_diffraction_col"]["value"] == 2
    assert "fourd_sample" in m.describe_instrument()
    with pytest.raises(InputDataError, match="differs"):
        SimSTEM(TinySample(seed=3), fourd=PatternSample(shape=(16, 16)))


def test_presets_build_their_samples():
    stem = SimSTEM(shape=(32, 32), seed=0)
    assert stem.sample.kind == "stem" and stem.fourd.kind == "fourd"
    assert stem.fourd.shape == stem.sample.shape == (32, 32)
    k = list(stem.fourd.spectrum_shape)
    assert stem.describe()["microscope_diffraction_pattern"]["shape"] == k
    assert stem.fourd.seed == stem.sample.seed == 0
    spm = SimSPM(shape=(32, 32), seed=0)
    assert spm.sample.kind == "spm"
    assert spm.describe()["microscope_structure_image"]["shape"] == [32, 32, 3]


# -- standard plans → TiledWriter → catalog ---------------------------------------------
PLANS = {
    "count": lambda m: count([m.structure]),
    "list_scan": lambda m: list_scan(
        [m.spectrometer], m.probe.x, [0.0, 1.5, 11.5], m.probe.y, [0.5, 1.0, 11.5]
    ),
    "grid_scan": lambda m: grid_scan(
        [m.spectrometer], m.probe.y, 0.0, 1.0, 3, m.probe.x, 0.0, 1.0, 3
    ),
}


def _run_and_compare(RE, client, mic, plans):
    recorder = DocumentRecorder()
    RE.subscribe(recorder)
    RE.subscribe(make_writer(client))
    uids = [uid for name in plans for uid in RE(PLANS[name](mic))]
    runs = recorder.runs()
    assert sorted(runs) == sorted(uids)
    for uid in uids:
        assert_stored_equal(client[uid], runs[uid])
    return uids, runs


def _check_documents_replay(client, uid, emitted):
    replay = list(client[uid].documents())
    names = [n for n, _ in replay]
    assert names[0] == "start" and names[-1] == "stop"
    events = [d for n, d in replay if n == "event"]
    expected = [d for n, d in emitted if n == "event"]
    assert len(events) == len(expected)
    for got, want in zip(events, expected, strict=True):
        for key, value in want["data"].items():
            np.testing.assert_array_equal(np.asarray(got["data"][key]), value)


@pytest.mark.parametrize("plan", list(PLANS))
def test_standard_plans_store_and_read_back_embedded(RE, catalog, mic, sample, plan):
    (uid,), runs = _run_and_compare(RE, catalog, mic, [plan])
    _check_documents_replay(catalog, uid, runs[uid])
    primary = catalog[uid]["primary"]
    if plan == "count":
        np.testing.assert_array_equal(primary["microscope_structure_image"].read()[0], sample.image)
    elif plan == "grid_scan":
        rows = primary["microscope_spectrometer_row"].read()
        np.testing.assert_array_equal(rows, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    else:
        cols = primary["microscope_spectrometer_col"].read()
        np.testing.assert_array_equal(cols, [0, 3, 23])


@pytest.mark.server
def test_standard_plans_store_and_read_back_over_http(RE, tiled_server, mic):
    uri, api_key = tiled_server
    client = open_catalog(uri, api_key=api_key)
    try:
        uids, runs = _run_and_compare(RE, client, mic, list(PLANS))
        for uid in uids:
            _check_documents_replay(client, uid, runs[uid])
    finally:
        close_catalog(client)


def test_simstem_diffraction_round_trips(RE, catalog):
    m = SimSTEM(TinySample(seed=3), fourd=PatternSample(seed=3), seed=3)
    recorder = DocumentRecorder()
    RE.subscribe(recorder)
    RE.subscribe(make_writer(catalog))
    (uid,) = RE(list_scan([m.spectrometer, m.diffraction], m.probe.x, [0.0, 2.0, 4.0]))
    assert_stored_equal(catalog[uid], recorder.runs()[uid])
    stored = catalog[uid]["primary"]["microscope_diffraction_pattern"].read()
    assert stored.shape == (3, 8, 8)


def test_short_spectra_and_multichannel_images_are_stored(RE, catalog):
    # arrays of <= 16 elements would go to the SQL table, which rejects list columns
    m = SimMicroscope(TinySample(seed=0, length=8, channels=2), seed=1)
    recorder = DocumentRecorder()
    RE.subscribe(recorder)
    RE.subscribe(make_writer(catalog))
    (uid,) = RE(list_scan([m.spectrometer, m.structure], m.probe.x, [0.0, 1.5]))
    assert_stored_equal(catalog[uid], recorder.documents)
    assert catalog[uid]["primary"]["microscope_spectrometer_spectrum"].read().shape == (2, 8)
    assert catalog[uid]["primary"]["microscope_structure_image"].read().shape == (2, 24, 24, 2)
    _check_documents_replay(catalog, uid, recorder.documents)
