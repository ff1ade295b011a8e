"""Ground-truth builders shared by the scalarizer tests."""

from __future__ import annotations

import numpy as np
import pytest


def triangle(n: int = 64, vmax: float = 8.5, start: int = 0) -> np.ndarray:
    """The BEPS bias waveform 0 → +vmax → −vmax → 0 (n points), rolled to begin at ``start``."""
    q = n // 4
    v = np.concatenate(
        [
            np.linspace(0.0, vmax, q, endpoint=False),
            np.linspace(vmax, -vmax, 2 * q, endpoint=False),
            np.linspace(-vmax, 0.0, q, endpoint=False),
        ]
    )
    return np.roll(v, -start)


def tanh_loop(v, vc_up, vc_down, width=0.5, height=1.0, offset=0.0):
    """A tanh hysteresis loop: the branch of the segment leaving each point switches at its Vc."""
    rising = np.diff(np.append(v, v[0])) > 0
    return offset + height * np.where(
        rising, np.tanh((v - vc_up) / width), np.tanh((v - vc_down) / width)
    )


@pytest.fixture(scope="session")
def waveform():
    return triangle


@pytest.fixture(scope="session")
def make_loop():
    return tanh_loop
