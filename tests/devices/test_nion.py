"""Nion Swift: the adapter on Nion's own STEM simulator (nionswift-usim), headless.

One simulator per module (starting it costs ~3 s); a whole short ``dkl_explore``
through the adapter is stored in Tiled and replayed with its own specs.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("nion.usim_device", reason="needs the 'nion' extra")

from ophyd_async.plan_stubs import ensure_connected  # noqa: E402

from autoscope.errors import InputDataError  # noqa: E402
from autoscope.protocols import Instrument  # noqa: E402

#: the plasmon band of the simulator's EELS (eV): bright on the sample's features, dark off them
PLASMON = {"name": "band_integral", "params": {"low": 10.0, "high": 25.0}}
SHAPE = (32, 32)


@pytest.fixture(scope="module")
def usim():
    """nionswift-usim started headless; a NionMicroscope on a 32 x 32 scan, 10 ms EELS."""
    from autoscope.devices.nion import usim_instrument

    with usim_instrument(SHAPE, dwell=0.01) as mic:
        yield mic


def _run(RE, coro):
    return asyncio.run_coroutine_threadsafe(coro, RE.loop).result(30)


def test_contract_geometry_and_calibrations(RE, usim):
    mic = usim
    RE(ensure_connected(mic))
    assert isinstance(mic, Instrument)
    fov = mic.scan.get_current_frame_parameters().fov_nm
    assert mic.grid.shape == SHAPE and mic.grid.pixel_size == pytest.approx(fov / SHAPE[1])
    assert mic.grid.units == "nm"
    conf = {k: v["value"] for k, v in mic.spectrometer.read_configuration().items()}
    axis = np.asarray(conf["microscope_spectrometer_axis"])
    assert conf["microscope_spectrometer_axis_units"] == "eV"
    (desc,) = [v for k, v in mic.spectrometer.describe().items() if k.endswith("_spectrum")]
    assert desc["shape"] == [axis.size] and axis.size >= 64
    assert np.all(np.diff(axis) > 0)  # an energy-loss axis from the frame's calibration
    assert conf["microscope_spectrometer_dwell"] == pytest.approx(0.01)
    pix = {k: v["value"] for k, v in mic.structure.read_configuration().items()}
    assert pix["microscope_structure_pixel_size"] == pytest.approx(mic.grid.pixel_size)
    info = mic.describe_instrument()
    assert info["instrument_id"] and info["fov_nm"] == pytest.approx(fov)


def test_probe_parks_at_the_pixel_centre_in_normalised_coordinates(RE, usim):
    import bluesky.plan_stubs as bps

    mic = usim
    RE(ensure_connected(mic))
    x, y = mic.pixel_to_position(5, 20)
    RE(bps.mv(mic.probe.x, x, mic.probe.y, y))
    pos = mic.stem_controller.probe_position
    assert pos.y == pytest.approx((5 + 0.5) / SHAPE[0]) and pos.x == pytest.approx(20.5 / SHAPE[1])
    assert _run(RE, mic.probe.x.readback.get_value()) == pytest.approx(x)
    with pytest.raises(InputDataError, match="outside its limits"):
        mic.probe.y.set(mic.grid.limits["y"][1] + mic.grid.pixel_size)
    assert mic.stem_controller.probe_position.y == pytest.approx(5.5 / SHAPE[0])  # not moved


def test_spectra_follow_the_probe(RE, usim):
    """Nion's own check: the plasmon band is bright at the centre and dark at (0.25, 0.25)."""
    import bluesky.plan_stubs as bps

    from autoscope import scalarizers

    mic = usim
    RE(ensure_connected(mic))
    f = scalarizers.from_spec(PLASMON)
    axis = mic.spectrometer.read_configuration()["microscope_spectrometer_axis"]["value"]
    values = {}
    for frac in (0.5, 0.25):
        row, col = int(frac * SHAPE[0]), int(frac * SHAPE[1])
        x, y = mic.pixel_to_position(row, col)
        RE(bps.mv(mic.probe.x, x, mic.probe.y, y))
        RE(bps.trigger(mic.spectrometer, wait=True))
        reading = _run(RE, mic.spectrometer.read())
        assert reading["microscope_spectrometer_row"]["value"] == row
        values[frac] = f(reading["microscope_spectrometer_spectrum"]["value"], axis)
    assert values[0.5] > 100 * max(values[0.25], 1.0)


def test_rotated_scan_is_refused(usim):
    from autoscope.devices.nion import NionMicroscope

    fp = usim.scan.get_current_frame_parameters()
    fp.rotation_rad = 0.3
    usim.scan.set_current_frame_parameters(fp)
    try:
        with pytest.raises(InputDataError, match="rotation"):
            NionMicroscope(usim.stem_controller, usim.scan, usim.eels, shape=SHAPE)
    finally:
        fp.rotation_rad = 0.0
        usim.scan.set_current_frame_parameters(fp)


def test_whole_experiment_stored_and_replayed(RE, usim, catalog, experiment, checked):
    from autoscope.replay import counterfactual

    mic = usim
    uid, docs = experiment(RE, mic, catalog, PLASMON, budget=10, n_seed=4, policy="ei")
    tr = checked(catalog, uid, docs, budget=10)
    assert tr.image.shape == SHAPE and tr.spectra.shape[1] == tr.axis.size
    assert tr.specs["instrument"]["class"] == "NionMicroscope"
    assert tr.specs["axis_units"] == "eV"
    positions = np.asarray(tr.positions)
    expected = np.c_[tr.cols, tr.rows] * mic.grid.pixel_size
    np.testing.assert_allclose(positions, expected, atol=1e-9)
    cf = counterfactual(tr)
    assert cf.own and cf.chosen_ids == tr.chosen_ids and cf.agreement == 1.0
