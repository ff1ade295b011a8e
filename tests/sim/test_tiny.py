"""The tiny analytic sample lives in autoscope.sim; the test kit re-exports it."""

from __future__ import annotations

import numpy as np
import pytest

from autoscope import testing
from autoscope.sim import make_sample
from autoscope.sim.tiny import TinySample


def test_make_sample_builds_the_tiny_sample_and_testing_reexports_it():
    assert testing.TinySample is TinySample
    s = make_sample("tiny", shape=(12, 16), seed=3, length=32, channels=2)
    ref = TinySample(shape=(12, 16), seed=3, length=32, channels=2)
    assert isinstance(s, TinySample) and s.image.shape == (12, 16, 2) and s.axis.shape == (32,)
    np.testing.assert_array_equal(s.image, ref.image)
    np.testing.assert_array_equal(s.spectrum(5, 7), ref.spectrum(5, 7))
    # the default scalarizer (centroid over the whole axis) recovers the exact peak energy
    err = np.abs(s.truth(s.default_scalarizer) - s.peak_position()).max()
    assert err < 1e-6


def test_unknown_kind_lists_tiny():
    with pytest.raises(ValueError, match=r"unknown sample kind 'huge'.*'tiny'"):
        make_sample("huge")
