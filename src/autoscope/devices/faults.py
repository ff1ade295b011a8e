"""Fault injection for the simulated instrument: bad spectra and failing probe moves.

A :class:`FaultModel` gives, for each kind of fault, the probability that one
acquisition (spectrum) or one axis move (probe) suffers it, and the seed of its
own random generator (independent of the instrument's noise, so a run with
faults measures the same noise where no fault strikes). :class:`SimMicroscope
<autoscope.devices.sim.SimMicroscope>` takes one as ``faults=``; tests and
facilities use it to check that a run survives what real hardware does.

Spectrum faults (at most one per acquisition, drawn in this order):
``nan`` (some channels NaN), ``inf`` (some channels +inf), ``empty`` (length 0),
``short`` (the first half only), ``zero`` (all zeros: a dead detector).
Move faults (per axis move): ``move_fail`` (the move fails at once),
``move_timeout`` (it fails with :class:`TimeoutError` after ``timeout_s``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = ["SPECTRUM_FAULTS", "FaultModel"]

#: spectrum faults, in the order they are drawn
SPECTRUM_FAULTS = ("nan", "inf", "empty", "short", "zero")


@dataclass(frozen=True)
class FaultModel:
    """Probabilities of simulated faults (each in [0, 1]) and the generator seed.

    Parameters
    ----------
    nan, inf, empty, short, zero : float
        Probability per acquisition of each spectrum fault; their sum ≤ 1.
    move_fail, move_timeout : float
        Probability per axis move of each move fault; their sum ≤ 1.
    timeout_s : float
        Seconds a timing-out move takes to fail.
    seed : int
        Seed of the fault generator.

    Raises
    ------
    ValueError
        A probability outside [0, 1], sums above 1, a negative timeout, an
        unknown field (from :meth:`from_spec`).

    Examples
    --------
    >>> FaultModel(zero=1.0).spectrum_rate
    1.0
    """

    nan: float = 0.0
    inf: float = 0.0
    empty: float = 0.0
    short: float = 0.0
    zero: float = 0.0
    move_fail: float = 0.0
    move_timeout: float = 0.0
    timeout_s: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (*SPECTRUM_FAULTS, "move_fail", "move_timeout"):
            p = getattr(self, name)
            if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
                raise InputDataError(f"fault rate {name} must be a number in [0, 1], got {p!r}")
        if self.spectrum_rate > 1.0 + 1e-12 or self.move_fail + self.move_timeout > 1.0 + 1e-12:
            raise InputDataError("fault rates of one kind (spectrum, move) must sum to <= 1")
        if not isinstance(self.timeout_s, int | float) or not 0.0 <= self.timeout_s < 60:
            raise InputDataError(f"timeout_s must be in [0, 60) s, got {self.timeout_s!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputDataError(f"fault seed must be an int >= 0, got {self.seed!r}")

    @classmethod
    def from_spec(cls, spec: Any) -> FaultModel | None:
        """Return a model from ``None``, a model, or a dict of its fields."""
        if spec is None or isinstance(spec, cls):
            return spec
        if not isinstance(spec, dict):
            raise InputDataError(f"faults must be a FaultModel, a dict or None, got {spec!r}")
        unknown = set(spec) - {f.name for f in fields(cls)}
        if unknown:
            raise InputDataError(f"unknown fault(s) {sorted(unknown)}")
        return cls(**spec)

    @property
    def spectrum_rate(self) -> float:
        """Probability that an acquisition suffers any spectrum fault."""
        return float(sum(getattr(self, n) for n in SPECTRUM_FAULTS))

    def spec(self) -> dict[str, Any]:
        """Return the fields as a JSON dict (what a run's record stores)."""
        return asdict(self)

    def rng(self) -> np.random.Generator:
        """Return a fresh generator of this model's faults."""
        return np.random.default_rng([self.seed, 7])

    def draw_spectrum_fault(self, rng: np.random.Generator) -> str:
        """Return the fault of one acquisition (``""``: none)."""
        u, acc = rng.random(), 0.0
        for name in SPECTRUM_FAULTS:
            acc += getattr(self, name)
            if u < acc:
                return name
        return ""

    def draw_move_fault(self, rng: np.random.Generator) -> str:
        """Return the fault of one axis move: ``""``, ``"fail"`` or ``"timeout"``."""
        u = rng.random()
        if u < self.move_fail:
            return "fail"
        return "timeout" if u < self.move_fail + self.move_timeout else ""

    @staticmethod
    def corrupt(spectrum: np.ndarray, fault: str, rng: np.random.Generator) -> np.ndarray:
        """Return ``spectrum`` as the fault makes it (a copy; unchanged for ``""``)."""
        out = np.array(spectrum, dtype=float)
        if fault in ("nan", "inf"):
            flat = out.reshape(-1)
            k = max(1, flat.size // 8)
            flat[rng.choice(flat.size, size=k, replace=False)] = (
                np.nan if fault == "nan" else np.inf
            )
        elif fault == "empty":
            return np.empty(0)
        elif fault == "short":
            return out.reshape(-1)[: max(1, out.size // 2)].copy()
        elif fault == "zero":
            out[...] = 0.0
        return out
