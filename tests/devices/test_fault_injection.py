"""Fault injection in the simulated instrument: rates, kinds, seeds, failing/timing-out moves."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope.devices.sim import SimMicroscope
from autoscope.errors import InputDataError
from autoscope.testing import TinySample


def acquire(mic, n):
    out = []
    for _ in range(n):
        mic.spectrometer.trigger().wait(5)
        out.append((mic.spectrometer.last_fault, np.asarray(mic.spectrometer.spectrum.get())))
    return out


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"nan": 1.5}, "nan must be a number in"),
        ({"nan": 0.6, "zero": 0.6}, "sum to <= 1"),
        ({"move_fail": -0.1}, "move_fail"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"seed": -1}, "seed"),
        ({"lightning": 0.1}, "unknown fault"),
        ("often", "faults must be"),
    ],
)
def test_bad_fault_models_are_refused(bad, match):
    with pytest.raises(InputDataError, match=match):
        SimMicroscope(TinySample(seed=0), seed=0, faults=bad)


@pytest.mark.parametrize("kind", ["nan", "inf", "empty", "short", "zero"])
def test_each_spectrum_fault(kind):
    mic = SimMicroscope(TinySample(seed=0), seed=0, faults={kind: 1.0})
    (fault, spectrum), *_ = acquire(mic, 1)
    assert fault == kind
    if kind == "nan":
        assert spectrum.shape == (64,) and 0 < np.isnan(spectrum).sum() < 64
    elif kind == "inf":
        assert spectrum.shape == (64,) and 0 < np.isinf(spectrum).sum() < 64
    elif kind == "empty":
        assert spectrum.shape == (0,)
    elif kind == "short":
        assert spectrum.shape == (32,)
    else:
        assert spectrum.shape == (64,) and not spectrum.any()
    # the declared shape never follows a faulty value
    assert mic.spectrometer.describe()["microscope_spectrometer_spectrum"]["shape"] == [64]
    assert mic.describe_instrument()["faults"][kind] == 1.0


def test_rates_are_honoured_and_seeded():
    faults = {"nan": 0.2, "empty": 0.1, "seed": 5}
    a = [f for f, _ in acquire(SimMicroscope(TinySample(seed=0), seed=0, faults=faults), 400)]
    b = [f for f, _ in acquire(SimMicroscope(TinySample(seed=0), seed=0, faults=faults), 400)]
    assert a == b  # same seed, same faults
    # binomial(400, p): within 4 standard deviations
    assert abs(a.count("nan") - 80) < 4 * np.sqrt(400 * 0.2 * 0.8)
    assert abs(a.count("empty") - 40) < 4 * np.sqrt(400 * 0.1 * 0.9)
    assert a.count("") + a.count("nan") + a.count("empty") == 400


def test_noise_is_the_same_where_no_fault_strikes():
    clean = acquire(SimMicroscope(TinySample(seed=0), seed=3), 30)
    faulty = acquire(SimMicroscope(TinySample(seed=0), seed=3, faults={"zero": 0.3}), 30)
    for (_, s0), (f, s1) in zip(clean, faulty, strict=True):
        assert np.array_equal(s0, s1) if f == "" else not s1.any()


def test_failing_and_timing_out_moves():
    mic = SimMicroscope(TinySample(seed=0), seed=0, faults={"move_fail": 1.0})
    status = mic.probe.x.set(3.0)
    with pytest.raises(RuntimeError, match="move failed"):
        status.wait(2)
    assert mic.probe.x.position == 0.0  # it did not move
    mic = SimMicroscope(TinySample(seed=0), seed=0, faults={"move_timeout": 1.0, "timeout_s": 0.05})
    status = mic.probe.y.set(2.0)
    assert not status.done
    with pytest.raises(TimeoutError, match="timed out after 0.05 s"):
        status.wait(2)
