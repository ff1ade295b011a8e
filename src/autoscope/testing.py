"""Fakes for tests: a tiny analytic sample and a deterministic fake recommender.

:class:`TinySample` (defined in :mod:`autoscope.sim.tiny`, re-exported here) is a
sample small and analytic enough that ``truth`` and ``measure`` cost microseconds
and are exactly known;
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
from typing import Any, cast

import numpy as np

from autoscope.errors import InputDataError, NoRecommendation
from autoscope.sim.tiny import TinySample

__all__ = ["DocumentRecorder", "FakeRecommender", "TinySample", "assert_stored_equal"]


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

    @property
    def values(self) -> np.ndarray:
        """Ingested values in :attr:`measured_ids` order, shape (n,)."""
        return np.array([float(p["value"]) for p in self.ingested], dtype=float)

    def replace_values(self, values: Any) -> None:
        """Replace the value of every ingested point, in :attr:`measured_ids` order.

        As :meth:`autoscope.recommender.DKLRecommender.replace_values` (used when a
        steering intervention changes the scalarizer); NaN is kept as given.

        Raises
        ------
        ValueError
            If there is not exactly one number per ingested point.
        """
        arr = np.asarray(values, dtype=float)
        if arr.shape != (len(self.ingested),):
            raise InputDataError(
                f"need {len(self.ingested)} values (one per ingested point), got shape {arr.shape}"
            )
        for p, v in zip(self.ingested, arr, strict=True):
            p["value"] = float(v)

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
            events[streams[doc["descriptor"]]].extend(unpack_event_page(cast(Any, doc)))
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
