"""The decision client: a recommender whose model runs in a decision server on another host.

:class:`RemoteRecommender` has the methods and properties of
:class:`~autoscope.recommender.DKLRecommender` that the exploration session, the plans
and steering use, and forwards each to its session on a
:class:`~autoscope.remote.DecisionServer` (ZeroMQ ``DEALER``, messages of
:mod:`autoscope.remote.wire`). The session's ``pending`` ids come back with every reply
and ``last_decision`` with every ``suggest``, so the decisions stream records what the
remote model knew exactly as for a local one.

A request that gets no answer within ``timeout`` raises
:class:`~autoscope.errors.DecisionServerError` (a
:class:`~autoscope.errors.ModelFittingError`: the session measures a random candidate and
records ``fallback = 1`` with the reason). The client then calls the server down and
fails at once, probing it again at most every ``retry_interval`` seconds, so a run whose
server died goes on at the instrument's pace. Requests that reached a slow server are
still applied there, in order; a suggestion that came too late is withdrawn (the
server's ``pending`` set back to what it was), as a local failed decision leaves it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from autoscope import __version__
from autoscope.errors import DecisionServerError, InputDataError
from autoscope.remote.channel import Channel
from autoscope.remote.wire import PROTOCOL, ids_or_mask

__all__ = ["RemoteRecommender"]

#: calls that change the remote state: kept while the server is down, sent when it is back
_MUTATING = frozenset(
    {"ingest", "clear_pending", "set_pending", "exclude", "include", "replace_values",
     "set_model", "set_dwell", "set:policy"}
)  # fmt: skip

log = logging.getLogger(__name__)


class RemoteRecommender:
    """A recommender hosted by a decision server (``autoscope decide-server``).

    Parameters
    ----------
    address : str
        The server's ZeroMQ endpoint, e.g. ``"tcp://gpu-host:5555"``.
    image : ndarray, shape (H, W) or (H, W, C), optional
        Open a session at once on this structural image, with ``config`` (as
        ``DKLRecommender(image, **config)``). Without it the object only names a server:
        give it to :func:`autoscope.plans.dkl_explore` (``recommender=``), which opens a
        session per run with the run's image, model and policy.
    timeout : float
        Seconds to wait for any answer (a decision included: at least the slowest
        decision expected).
    connect_timeout : float
        Seconds to wait for the server's ``hello`` (reachability, versions).
    retry_interval : float
        After a request went unanswered, seconds between probes of the server; calls in
        between fail at once.
    server_key : str or Path, optional
        The server's CURVE public certificate (``*.key``): encrypt and authenticate.
    client_key : str or Path, optional
        This client's CURVE secret certificate (``*.key_secret``), for a server that
        accepts known clients only (default: a fresh key pair).
    **config
        Recommender options when ``image`` is given (``patch_size``, ``policy``,
        ``model``, ``seed``, ``stride``, ``calibration``, ``stop``, ...).

    Raises
    ------
    InputDataError
        A bad address, timeout or key file.
    DecisionServerError
        ``image`` given and the server unreachable, of another protocol, or refusing.

    Examples
    --------
    >>> from autoscope.remote import RemoteRecommender
    >>> RemoteRecommender("tcp://gpu-host:5555", timeout=120).address
    'tcp://gpu-host:5555'
    """

    def __init__(
        self,
        address: str,
        image: np.ndarray | None = None,
        *,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retry_interval: float = 10.0,
        server_key: str | Path | None = None,
        client_key: str | Path | None = None,
        **config: Any,
    ):
        if not isinstance(address, str) or not address.startswith(("tcp://", "ipc://")):
            raise InputDataError(
                f"address must be a ZeroMQ endpoint like tcp://host:5555, got {address!r}"
            )
        for name, v in (("timeout", timeout), ("connect_timeout", connect_timeout),
                        ("retry_interval", retry_interval)):  # fmt: skip
            if not isinstance(v, int | float) or not v > 0:
                raise InputDataError(f"{name} must be a number of seconds > 0, got {v!r}")
        self.address = address
        self.timeout, self.connect_timeout = float(timeout), float(connect_timeout)
        self.retry_interval = float(retry_interval)
        self._channel = Channel(address, server_key, client_key)
        self._server_key, self._client_key = server_key, client_key
        self._config = dict(config)
        self._owed: list[tuple[str, Sequence[Any]]] = []
        self.session: str | None = None
        self.server: dict[str, Any] = {}
        self.last_decision: dict[str, Any] | None = None
        self._pending: list[int] = []
        self._candidates: np.ndarray | None = None
        self._opened_config: dict[str, Any] = {}
        if image is not None:
            try:
                self.hello()
                self._open(image, self._config)
            except BaseException:
                self.close()
                raise

    # -- connection ----------------------------------------------------------------------------
    def hello(self) -> dict[str, Any]:
        """Check the server answers and speaks this protocol; return what it says of itself.

        Returns
        -------
        dict
            ``protocol``, ``version`` (autoscope), ``host``, ``cuda``, ``encrypted``,
            ``sessions``, ``max_sessions``.

        Raises
        ------
        DecisionServerError
            No answer within ``connect_timeout``, or another protocol.
        """
        try:
            reply = self._channel.request("hello", self.connect_timeout)
        finally:
            self._release()
        if reply.get("protocol") != PROTOCOL:  # pragma: no cover - the server refuses first
            raise DecisionServerError(
                f"the decision server at {self.address} speaks protocol {reply.get('protocol')}, "
                f"this client {PROTOCOL}: install the same autoscope version on both hosts"
            )
        if reply.get("version") != __version__:
            log.warning("decision server at %s runs autoscope %s, this client %s",
                        self.address, reply.get("version"), __version__)  # fmt: skip
        self.server = {k: reply.get(k) for k in ("version", "host", "cuda", "encrypted")}
        self._channel.down_at = None
        return dict(reply)

    def validate_model(self, spec: Any) -> Any:
        """Validate a model spec on the server (where its device, e.g. CUDA, is); return it.

        Raises
        ------
        InputDataError
            The server's verdict on a bad spec (unknown name, bad parameter).
        """
        try:
            return self._channel.request("validate", self.timeout, kind="model", spec=spec)[
                "result"
            ]
        finally:
            self._release()

    def bind(self, image: np.ndarray, config: Mapping[str, Any]) -> RemoteRecommender:
        """Open a session for one run on ``image`` with ``config``; return its recommender.

        This is how a plan uses the object: each run gets a new
        :class:`RemoteRecommender` (same server and options) in a session of its own.
        """
        self.check_for_plan()
        run = RemoteRecommender(
            self.address, timeout=self.timeout, connect_timeout=self.connect_timeout,
            retry_interval=self.retry_interval, server_key=self._server_key,
            client_key=self._client_key,
        )  # fmt: skip
        run.server = dict(self.server)
        try:
            run._open(image, dict(config))
        except BaseException:
            run.close()
            raise
        return run

    def check_for_plan(self) -> None:
        """Refuse recommender options given here: a plan passes its own (and records them).

        Raises
        ------
        InputDataError
            ``image`` or recommender options were given to this object.
        """
        if self._config or self.session is not None:
            raise InputDataError(
                "a RemoteRecommender given to a plan takes the model, policy and seed from the "
                f"plan's arguments; give only the address and connection options, not "
                f"{sorted(self._config) or 'an image'}"
            )

    def close(self) -> None:
        """End the session on the server (best effort) and close the socket."""
        with self._channel.lock:
            if self.session is not None and self._channel.down_at is None and not self._owed:
                try:
                    self._channel.request("close", min(self.timeout, self.connect_timeout),
                                  session=self.session)  # fmt: skip
                except DecisionServerError as exc:
                    log.warning("closing session %s: %s", self.session, exc)
            self.session = None
            self._channel.close()

    def __enter__(self) -> RemoteRecommender:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- what the session, the plans and steering read -------------------------------------------
    @property
    def candidates(self) -> np.ndarray:
        """``(row, col)`` of every candidate, (N, 2) int (from the server at ``open``)."""
        if self._candidates is None:
            raise InputDataError("this RemoteRecommender has no session: give it an image first")
        return self._candidates

    @property
    def config(self) -> dict[str, Any]:
        """The remote recommender's JSON config (:attr:`DKLRecommender.config`)."""
        try:
            return dict(self._call("get:config"))
        except DecisionServerError:
            return dict(self._opened_config)

    @property
    def pending(self) -> list[int]:
        """Ids suggested but not ingested, as of the last reply (no request)."""
        return list(self._pending)

    @property
    def last_round_trip(self) -> dict[str, Any]:
        """The last request's wall time ``total`` and the server's share ``server`` (s).

        ``total - server`` is the transport: serialisation, ZeroMQ, network.
        """
        return dict(self._channel.last_round_trip)

    @property
    def measured_ids(self) -> list[int]:
        """Ingested candidate ids, in order."""
        return [int(i) for i in self._call("get:measured_ids")]

    @property
    def values(self) -> np.ndarray:
        """Ingested values, (n,) (NaN kept)."""
        return np.asarray(self._call("get:values"), dtype=float)

    @property
    def policy(self) -> dict[str, Any]:
        """The remote policy's spec; assign a name, spec or Policy to change it."""
        return dict(self._call("get:policy"))

    @policy.setter
    def policy(self, spec: Any) -> None:
        self._call("set:policy", getattr(spec, "spec", spec))

    def suggest(self, batch_size: int = 1) -> list[dict[str, Any]]:
        """Return ``batch_size`` candidates to measure next (see :meth:`DKLRecommender.suggest`)."""
        before, was_down = list(self._pending), self._channel.down_at is not None
        try:
            return [dict(p) for p in self._call("suggest", int(batch_size))]
        except DecisionServerError:
            if (
                not was_down and self._channel.down_at is not None
            ):  # it timed out, may still be applied:
                self._owed.append(("set_pending", (before,)))  # then withdraw it, as if it failed
            raise

    def ingest(self, points: Sequence[Mapping[str, Any]]) -> None:
        """Add measured points ``{"_id": int, "value": float}`` to the remote model's data."""
        self._call("ingest", [dict(p) for p in points])

    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance at every candidate, each (N,)."""
        mean, var = self._call("predict")
        return np.asarray(mean), np.asarray(var)

    def acquisition(self) -> np.ndarray:
        """Return the policy's score of every candidate for the next decision, (N,)."""
        return np.asarray(self._call("acquisition"))

    def should_stop(self) -> str | None:
        """Return why the remote recommender would stop (``None``: go on)."""
        return self._call("should_stop")

    def replace_values(self, values: Any) -> None:
        """Replace the value of every ingested point, in :attr:`measured_ids` order."""
        self._call("replace_values", np.asarray(values, dtype=float))

    def set_model(self, spec: Any) -> None:
        """Replace the remote model by one built from ``spec``."""
        self._call("set_model", spec)

    def set_dwell(self, dwell: Any) -> None:
        """Set the dwell time (s) per candidate for cost-aware policies."""
        self._call("set_dwell", np.asarray(dwell, dtype=float))

    def clear_pending(self) -> None:
        """Forget pending suggestions (kept in order even when the server is slow)."""
        self._tolerant("clear_pending")

    def set_pending(self, ids: Any) -> None:
        """Make exactly ``ids`` pending."""
        self._tolerant("set_pending", [int(i) for i in ids])

    def exclude(self, where: Any) -> None:
        """Never suggest these candidates: ids, or an (H, W) / (N,) bool mask."""
        self._tolerant("exclude", ids_or_mask(where))

    def include(self, where: Any) -> None:
        """Allow these candidates again: ids, or an (H, W) / (N,) bool mask."""
        self._call("include", ids_or_mask(where))

    # -- internals -----------------------------------------------------------------------------
    def _open(self, image: Any, config: dict[str, Any]) -> None:
        reply = self._channel.request("open", self.timeout, image=np.asarray(image), config=config)
        self.session = str(reply["session"])
        self._candidates = np.asarray(reply["candidates"])
        self._opened_config = dict(reply.get("config") or {})
        self._pending = [int(i) for i in reply.get("state", {}).get("pending", [])]

    def _release(self) -> None:
        """Close the socket of an object without a session (a plan's template, a probe)."""
        if self.session is None:
            self._channel.close()

    def _tolerant(self, method: str, *args: Any) -> None:
        """Call ``method``, logging a failure: the session calls it outside its fallback."""
        try:
            self._call(method, *args)
        except DecisionServerError as exc:
            log.warning("%s on the decision server failed: %s", method, exc)

    def _call(self, method: str, *args: Any) -> Any:
        if self.session is None:
            raise InputDataError("this RemoteRecommender has no session: give it an image first")
        with self._channel.lock:
            if self._channel.down_at is not None and not self._back():
                if method in _MUTATING:  # kept, and sent in order once the server answers
                    self._owed.append((method, args))
                    return None
                raise DecisionServerError(
                    f"the decision server at {self.address} stopped answering "
                    f"(next try within {self.retry_interval:g} s)"
                )
            while self._owed:  # what the server missed while it was down, in order
                try:
                    self._send(*self._owed[0])
                except Exception as exc:
                    if (
                        self._channel.down_at is not None
                    ):  # no answer again: keep it for the next try
                        raise
                    log.warning("%s, sent late, was refused: %s", self._owed[0][0], exc)
                self._owed.pop(0)
            return self._send(method, args)

    def _back(self) -> bool:
        """Whether a server that stopped answering does again (probed every ``retry_interval``)."""
        if time.monotonic() - cast(float, self._channel.down_at) < self.retry_interval:
            return False
        try:
            self.hello()
        except DecisionServerError:
            return False
        return True

    def _send(self, method: str, args: Sequence[Any]) -> Any:
        reply = self._channel.request(
            "call", self.timeout, session=self.session, method=method, args=list(args)
        )
        state = reply.get("state") or {}
        if "pending" in state:
            self._pending = [int(i) for i in state["pending"]]
        if "last_decision" in state:
            self.last_decision = state["last_decision"]
        return reply.get("result")
