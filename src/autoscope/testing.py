"""Fakes for tests: a tiny analytic sample and a deterministic fake recommender.

:class:`TinySample` is a :class:`~autoscope.sim.base.BaseSample` small and analytic
enough that ``truth`` and ``measure`` cost microseconds and are exactly known;
:class:`FakeRecommender` satisfies :class:`autoscope.protocols.Recommender` with
seeded random suggestions and records what it ingests. Both are meant for users'
own tests of plans and callbacks.

Examples
--------
>>> from autoscope.testing import FakeRecommender, TinySample
>>> s = TinySample(seed=0)
>>> s.image.shape, s.axis.shape
((24, 24), (64,))
>>> rec = FakeRecommender(s.shape, seed=0)
>>> pts = rec.suggest(2)
>>> len({p["_id"] for p in pts})
2
>>> rec.ingest([{"_id": pts[0]["_id"], "value": 1.0}])
>>> len(rec.ingested)
1
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from autoscope.errors import InputDataError, NoRecommendation
from autoscope.sim.base import BaseSample, check_finite_params, check_shape

__all__ = ["DocumentRecorder", "FakeRecommender", "TinySample", "assert_stored_equal"]


class TinySample(BaseSample):
    r"""A tiny analytic sample: a Gaussian blob image and one Gaussian peak per spectrum.

    .. math::

        I(r, c) = \exp\!\left(-\frac{(r - r_0)^2 + (c - c_0)^2}{2 \sigma^2}\right), \qquad
        s_{r,c}(E) = \exp\!\left(-\frac{(E - E_0(r, c))^2}{2 w^2}\right), \qquad
        E_0(r, c) = E_b + \delta\, I(r, c)

    with the blob centre :math:`(r_0, c_0)` drawn from ``seed`` in the middle
    40 % of the grid, :math:`\sigma = H / 6` px, :math:`E_b` = 3 eV,
    :math:`\delta` = 4 eV, :math:`w` = 0.5 eV, on an energy axis 0–10 eV.
    Measurement noise is additive Gaussian with standard deviation ``noise``.
    The default scalarizer, the centroid over the whole axis, recovers
    :math:`E_0` to < 1e-6 eV (:meth:`peak_position` gives it exactly).

    Parameters
    ----------
    shape : (int, int)
        Grid ``(H, W)``, each ≥ 4 (default 24 x 24).
    seed : int
        Seed of the blob position.
    length : int
        Number of spectral channels ``L`` (≥ 8).
    noise : float
        Standard deviation of the additive measurement noise (spectrum units).
    channels : {1, 2}
        1: image ``(H, W)``; 2: ``(H, W, 2)`` with channels ``("blob", "inverse")``
        where ``inverse = 1 - blob``.
    """

    kind = "tiny"
    axis_name = "energy"
    axis_units = "eV"
    spectrum_units = "a.u."
    image_units = "a.u."
    pixel_size = 0.5
    pixel_units = "nm"
    E_BASE, E_SHIFT, WIDTH = 3.0, 4.0, 0.5

    def __init__(
        self,
        shape: tuple[int, int] = (24, 24),
        seed: int = 0,
        *,
        length: int = 64,
        noise: float = 0.01,
        channels: int = 1,
    ) -> None:
        h, w = check_shape(shape, minimum=4)
        check_finite_params(noise=noise)
        if noise < 0:
            raise InputDataError(f"noise must be >= 0, got {noise!r}")
        if isinstance(length, bool) or not isinstance(length, int) or length < 8:
            raise InputDataError(f"length must be an int >= 8, got {length!r}")
        if channels not in (1, 2) or isinstance(channels, bool):
            raise InputDataError(f"channels must be 1 or 2, got {channels!r}")
        self.seed, self.length, self.noise, self.n_channels = seed, length, float(noise), channels
        rng = np.random.default_rng(seed)
        self.center = (
            float(rng.uniform(0.3, 0.7) * (h - 1)),
            float(rng.uniform(0.3, 0.7) * (w - 1)),
        )
        self.sigma = h / 6.0
        rr, cc = np.mgrid[0:h, 0:w]
        blob = np.exp(
            -((rr - self.center[0]) ** 2 + (cc - self.center[1]) ** 2) / (2 * self.sigma**2)
        )
        self._blob = blob
        if channels == 1:
            self.image = blob.copy()
            self.channels = ("blob",)
        else:
            self.image = np.stack([blob, 1.0 - blob], axis=-1)
            self.channels = ("blob", "inverse")
        self.axis = np.linspace(0.0, 10.0, length)
        self.default_scalarizer = {"name": "centroid", "params": {"low": 0.0, "high": 10.0}}

    def params(self) -> dict[str, Any]:
        """Parameters that, with ``shape`` and ``seed``, rebuild the sample."""
        return {"length": self.length, "noise": self.noise, "channels": self.n_channels}

    def peak_position(self) -> np.ndarray:
        """Return the exact peak energy :math:`E_0` at every pixel, eV, shape (H, W)."""
        return self.E_BASE + self.E_SHIFT * self._blob

    def _spectra_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        e0 = self.E_BASE + self.E_SHIFT * self._blob[rows, cols]
        return np.exp(-((self.axis[None, :] - e0[:, None]) ** 2) / (2 * self.WIDTH**2))

    def _add_noise(self, spectrum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return spectrum + rng.normal(0.0, self.noise, size=spectrum.shape)


def _as_candidates(candidates: Any) -> np.ndarray:
    if isinstance(candidates, int | np.integer) and not isinstance(candidates, bool):
        if candidates < 1:
            raise InputDataError(f"number of candidates must be >= 1, got {candidates}")
        return np.column_stack([np.zeros(candidates, int), np.arange(candidates)])
    arr = np.asarray(candidates)
    if arr.ndim == 1 and arr.shape == (2,) and arr.dtype.kind in "iu":
        h, w = (int(n) for n in arr)
        if h < 1 or w < 1:
            raise InputDataError(f"grid shape must be positive, got {tuple(arr)}")
        return np.column_stack(np.divmod(np.arange(h * w), w))
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1 or arr.dtype.kind not in "iu":
        raise InputDataError(
            "candidates must be an int n, a grid shape (H, W) or an (N, 2) int array of "
            f"(row, col); got {type(candidates).__name__} with shape {arr.shape}"
        )
    return arr.astype(int)


class FakeRecommender:
    """A recommender that suggests seeded-random unmeasured candidates and records ingests.

    Satisfies :class:`autoscope.protocols.Recommender` and mirrors the extras of
    ``DKLRecommender`` (``candidates``, ``predict``, ``acquisition``,
    ``last_decision``, ``config``, ``should_stop``) with trivial values.

    Parameters
    ----------
    candidates : int, (int, int) or array_like, shape (N, 2)
        ``n`` candidates at pixels ``(0, i)``; every pixel of an ``(H, W)`` grid
        (row-major, id = ``row * W + col``); or explicit ``(row, col)`` pairs.
    seed : int
        Seed of the suggestion order.

    Attributes
    ----------
    candidates : ndarray, shape (N, 2)
    ingested : list of dict
        Every ingested point, in order (copies).
    suggested : list of dict
        Every suggested point, in order.
    """

    def __init__(self, candidates: Any, seed: int = 0) -> None:
        self.candidates = _as_candidates(candidates)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.ingested: list[dict[str, Any]] = []
        self.suggested: list[dict[str, Any]] = []
        self._measured: set[int] = set()
        self.last_decision: dict[str, Any] = {}

    @property
    def config(self) -> dict[str, Any]:
        """JSON description that rebuilds this recommender (with its candidates)."""
        return {"name": "fake", "seed": self.seed, "n_candidates": int(len(self.candidates))}

    @property
    def measured_ids(self) -> list[int]:
        """Ingested candidate ids, in order (repeats kept)."""
        return [int(p["_id"]) for p in self.ingested]

    def suggest(self, batch_size: int = 1) -> list[dict[str, Any]]:
        """Return up to ``batch_size`` distinct, not yet ingested candidates (seeded random).

        Raises
        ------
        ValueError
            If ``batch_size`` is not a positive int.
        NoRecommendation
            If every candidate has been ingested.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise InputDataError(f"batch_size must be a positive int, got {batch_size!r}")
        if batch_size < 1:
            raise InputDataError(f"batch_size must be a positive int, got {batch_size!r}")
        remaining = np.setdiff1d(np.arange(len(self.candidates)), list(self._measured))
        if remaining.size == 0:
            raise NoRecommendation("every candidate has been measured")
        ids = self._rng.choice(remaining, size=min(int(batch_size), remaining.size), replace=False)
        points = [
            {"_id": int(i), "row": int(self.candidates[i, 0]), "col": int(self.candidates[i, 1])}
            for i in ids
        ]
        self.suggested.extend(dict(p) for p in points)
        self.last_decision = {
            "_id": points[0]["_id"],
            "acquisition_value": 0.0,
            "mean": 0.0,
            "std": 1.0,
            "loss": 0.0,
            "iterations": 0,
            "model_version": len(self.ingested),
            "n_train": len(self.ingested),
            "timings": {"fit": 0.0, "acquisition": 0.0},
        }
        return points

    def ingest(self, points: Sequence[dict[str, Any]]) -> None:
        """Record measured points ``{"_id": int, "value": float}``.

        Raises
        ------
        ValueError
            If a point lacks ``_id``/``value``, the id is not a candidate index, or
            the value is not a finite number.
        """
        checked = []
        for p in points:
            if not isinstance(p, dict) or "_id" not in p or "value" not in p:
                raise InputDataError(f"points must be dicts with '_id' and 'value', got {p!r}")
            i, v = p["_id"], p["value"]
            if isinstance(i, bool) or not isinstance(i, int | np.integer):
                raise InputDataError(f"'_id' must be an int, got {i!r}")
            if not 0 <= i < len(self.candidates):
                raise InputDataError(f"'_id' {i} is not in [0, {len(self.candidates)})")
            if isinstance(v, bool) or not isinstance(v, int | float | np.number):
                raise InputDataError(f"'value' must be a finite number, got {v!r}")
            if not math.isfinite(v):
                raise InputDataError(f"'value' must be a finite number, got {v!r}")
            checked.append(dict(p))
        for p in checked:
            self.ingested.append(p)
            self._measured.add(int(p["_id"]))

    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance over the candidates: zeros and ones, each (N,)."""
        n = len(self.candidates)
        return np.zeros(n), np.ones(n)

    def acquisition(self) -> np.ndarray:
        """Acquisition values (N,): 0 for unmeasured candidates, -inf for measured ones."""
        acq = np.zeros(len(self.candidates))
        acq[list(self._measured)] = -np.inf
        return acq

    def should_stop(self) -> bool:
        """Return True once every candidate has been ingested."""
        return len(self._measured) >= len(self.candidates)


class DocumentRecorder:
    """A RunEngine callback that keeps a deep copy of every ``(name, doc)`` it receives.

    Examples
    --------
    >>> rec = DocumentRecorder()
    >>> rec("start", {"uid": "u"}); rec.names
    ['start']
    """

    def __init__(self) -> None:
        self.documents: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        """Record a deep copy of one document."""
        self.documents.append((name, copy.deepcopy(doc)))

    @property
    def names(self) -> list[str]:
        """Document names in order."""
        return [n for n, _ in self.documents]

    def runs(self) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Return the documents split by run, keyed by run start uid."""
        out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        desc_run: dict[str, str] = {}
        for name, doc in self.documents:
            if name == "start":
                uid = doc["uid"]
            elif name == "descriptor":
                uid = desc_run.setdefault(doc["uid"], doc["run_start"])
            elif name in ("event", "event_page"):
                uid = desc_run[doc["descriptor"]]
            elif name == "stop":
                uid = doc["run_start"]
            else:
                continue
            out.setdefault(uid, []).append((name, doc))
        return out


def _events_by_stream(documents: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[dict]]:
    from event_model import unpack_event_page

    streams: dict[str, str] = {}
    events: dict[str, list[dict]] = defaultdict(list)
    for name, doc in documents:
        if name == "descriptor":
            streams[doc["uid"]] = doc["name"]
        elif name == "event":
            events[streams[doc["descriptor"]]].append(doc)
        elif name == "event_page":
            events[streams[doc["descriptor"]]].extend(unpack_event_page(doc))
    return {k: sorted(v, key=lambda e: e["seq_num"]) for k, v in events.items()}


def assert_stored_equal(run: Any, documents: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Assert that a stored run holds exactly the data of the emitted documents.

    Checks the start uid, the stop document's exit status and event counts, and,
    for every stream and data key of every event, that the array read back from
    the catalog (``run[stream][key].read()``) equals the emitted values stacked
    over events in ``seq_num`` order (exact equality, dtype kind preserved).

    Parameters
    ----------
    run : tiled client of a BlueskyRun
        E.g. ``catalog[uid]``.
    documents : iterable of (name, doc)
        The documents of that one run, e.g. from :class:`DocumentRecorder`.

    Raises
    ------
    AssertionError
        Naming the stream and key that differ.
    """
    documents = list(documents)
    start = next(d for n, d in documents if n == "start")
    stored_start = run.metadata["start"]
    if stored_start["uid"] != start["uid"]:
        raise AssertionError(f"run uid {stored_start['uid']} != emitted {start['uid']}")
    stop = next((d for n, d in documents if n == "stop"), None)
    if stop is not None:
        stored_stop = run.metadata["stop"]
        for key in ("exit_status", "num_events"):
            if stored_stop.get(key) != stop.get(key):
                raise AssertionError(
                    f"stop[{key!r}]: stored {stored_stop.get(key)!r} != {stop.get(key)!r}"
                )
    for stream, events in _events_by_stream(documents).items():
        node = run[stream]
        for key in events[0]["data"]:
            expected = np.asarray([e["data"][key] for e in events])
            got = np.asarray(node[key].read())
            if got.shape != expected.shape:
                raise AssertionError(
                    f"{stream}/{key}: stored shape {got.shape} != emitted {expected.shape}"
                )
            if expected.dtype.kind in "fc" and got.dtype.kind not in "fc":
                raise AssertionError(f"{stream}/{key}: stored dtype {got.dtype} lost floats")
            if not np.array_equal(got, expected, equal_nan=expected.dtype.kind in "fc"):
                raise AssertionError(f"{stream}/{key}: stored values differ from emitted ones")
