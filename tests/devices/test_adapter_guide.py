"""The adapter skeleton of docs/adapters.md runs against a fake vendor client: a dkl_explore."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from autoscope.protocols import Instrument
from autoscope.sim import make_sample

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"
NM = 1e-9


def _skeleton() -> dict:
    text = GUIDE.read_text()
    block = re.search(
        r"<!-- adapter-skeleton:start -->\s*```python\n(.*?)```\s*<!-- adapter-skeleton:end -->",
        text,
        re.S,
    )
    assert block, "the skeleton block is missing from docs/adapters.md"
    namespace: dict = {"__name__": "adapter_skeleton"}
    exec(compile(block.group(1), str(GUIDE), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


class FakeClient:
    """An AutoScript-style client over an autoscope sample (SI units, blocking calls)."""

    def __init__(self, sample, seed=0):
        self.sample, self.rng = sample, np.random.default_rng(seed)
        h, w = sample.image.shape[:2]
        self.n = max(h, w)
        self.beam = self
        self.acquisition = self
        self.field_of_view_m = sample.pixel_size * self.n * NM
        self.probe_position_m = (0.0, 0.0)
        self.eels_exposure_s = 0.001

    def _half(self):
        return self.sample.pixel_size * (self.n - 1) / 2

    def move_probe_m(self, pos):
        time.sleep(0.001)
        self.probe_position_m = tuple(pos)

    def acquire_stem_image(self, detector, size, dwell):
        assert detector == "HAADF" and tuple(size) == self.sample.image.shape[1::-1]
        return type("Frame", (), {"data": self.sample.image})()

    def eels_calibration(self):
        axis = self.sample.axis
        return float(axis[0]), float(axis[1] - axis[0]), len(axis)

    def acquire_eels(self):
        x, y = (p / NM + self._half() for p in self.probe_position_m)
        ps = self.sample.pixel_size
        return self.sample.measure(round(y / ps), round(x / ps), rng=self.rng)

    def describe(self):
        return {"vendor": "fake", "sample": self.sample.describe()}


def test_skeleton_is_an_instrument_and_runs_dkl_explore(RE, catalog, experiment, checked):
    ns = _skeleton()
    sample = make_sample("stem", shape=(24, 24), seed=0)
    client = FakeClient(sample)
    mic = ns["VendorMicroscope"](client, shape=(24, 24))
    assert isinstance(mic, Instrument)
    uid, docs = experiment(RE, mic, catalog, sample.default_scalarizer, budget=6, n_seed=3)
    tr = checked(catalog, uid, docs, budget=6, image=sample.image)
    np.testing.assert_allclose(tr.axis, sample.axis, rtol=1e-9, atol=1e-9)
    # the spectra were measured where the plan asked: compare with the noise-free spectra there
    clean = np.array([sample.spectrum(r, c) for r, c in zip(tr.rows, tr.cols, strict=True)])
    scale = np.abs(clean).max()
    assert np.median(np.abs(tr.spectra - clean)) < 0.2 * scale
    np.testing.assert_allclose(tr.positions, np.c_[tr.cols, tr.rows] * sample.pixel_size)
    assert tr.specs["instrument"]["vendor"]["vendor"] == "fake"
