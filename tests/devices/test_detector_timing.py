"""The simulated point detectors measure during the dwell, like a real one.

The spectrum (noise and fault draws included) is computed on the acquisition thread
when the acquisition starts and becomes readable ``dwell`` s after the trigger: the
values and the random draws are those of an instantaneous acquisition, the status never
finishes before the dwell, and a stopped acquisition leaves the generators untouched.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from autoscope.devices.faults import FaultModel
from autoscope.devices.sim import SimMicroscope
from autoscope.testing import TinySample

PIXELS = [(5, 3), (0, 0), (11, 7), (5, 3), (2, 9)]
FAULTS = {"nan": 0.2, "short": 0.2, "zero": 0.1, "seed": 3}


def _mic(dwell: float, faults: bool = False) -> SimMicroscope:
    kw = {"faults": FaultModel(**FAULTS)} if faults else {}
    return SimMicroscope(TinySample(shape=(16, 16), seed=0), seed=4, dwell=dwell, **kw)


def _go(m: SimMicroscope, row: int, col: int) -> None:
    x, y = m.pixel_to_position(row, col)
    m.probe.x.set(x).wait(1)
    m.probe.y.set(y).wait(1)


def _acquire(m: SimMicroscope, pixels=PIXELS, dwell: float = 0.0):
    out, took = [], []
    for row, col in pixels:
        _go(m, row, col)
        t0 = time.monotonic()
        st = m.spectrometer.trigger()
        st.wait(2)
        took.append(time.monotonic() - t0)
        spectrum = np.asarray(m.spectrometer.spectrum.get())
        out.append((m.spectrometer.last_fault, m.spectrometer.row.get(), spectrum))
    return out, took


@pytest.mark.parametrize("faults", [False, True])
def test_values_are_those_of_an_instant_acquisition_and_never_early(faults):
    reference, _ = _acquire(_mic(0.0, faults))
    timed, took = _acquire(_mic(0.03, faults))
    assert [(f, r) for f, r, _ in timed] == [(f, r) for f, r, _ in reference]
    for (_, _, a), (_, _, b) in zip(timed, reference, strict=True):
        np.testing.assert_array_equal(a, b)  # NaN-faulted ones included
    assert min(took) >= 0.03  # the status finishes no earlier than the dwell
    if faults:
        assert any(f for f, _, _ in reference)  # the fault draws were exercised


def test_the_sample_is_measured_once_per_acquisition_with_the_detector_noise():
    m = _mic(0.02)
    ((fault, row, spectrum),) = _acquire(m, [(5, 3)])[0]
    expected = TinySample(shape=(16, 16), seed=0).measure(5, 3, rng=np.random.default_rng(4))
    assert fault == "" and row == 5
    np.testing.assert_array_equal(spectrum, expected)


def test_a_stopped_acquisition_puts_nothing_and_draws_nothing():
    m, reference = _mic(0.2, faults=True), _mic(0.0, faults=True)
    _go(m, 5, 3)
    before = np.asarray(m.spectrometer.spectrum.get()).copy()
    st = m.spectrometer.trigger()
    time.sleep(0.02)  # the value is computed by now, not yet readable
    m.spectrometer.stop()
    with pytest.raises(Exception, match="stopped"):
        st.wait(1)
    np.testing.assert_array_equal(m.spectrometer.spectrum.get(), before)
    # the next acquisitions measure what they would have without the stopped one
    m.spectrometer.dwell.put(0.01)
    got, _ = _acquire(m)
    want, _ = _acquire(reference)
    for (fa, ra, a), (fb, rb, b) in zip(got, want, strict=True):
        assert (fa, ra) == (fb, rb)
        np.testing.assert_array_equal(a, b)
