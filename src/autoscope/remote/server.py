"""The decision server: recommenders hosted in one process, answering over ZeroMQ.

A facility runs :class:`DecisionServer` (``autoscope decide-server``) on a GPU host;
plans on the instrument PC reach it with :class:`~autoscope.remote.RemoteRecommender`.
The socket is a ZeroMQ ``ROUTER`` (clients are ``DEALER`` s); messages are
:mod:`autoscope.remote.wire`'s. Each ``open`` builds a
:class:`~autoscope.recommender.DKLRecommender` in a session of its own, under a fresh
random id, so two runs (two instruments, or two clients) never share a model. One
worker thread runs every recommender call in arrival order (the GPU is one device,
and the models seed torch's global generator per fit); the main thread only moves
messages, so ``hello`` is answered while a model trains and a client's timeout
measures the decision, not the queue of socket I/O.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import zmq

from autoscope import __version__
from autoscope._validate import check_int
from autoscope.errors import DecisionServerError, InputDataError
from autoscope.remote.wire import METHODS, PROTOCOL, decode, encode, error_reply

__all__ = ["DecisionServer", "is_loopback"]

log = logging.getLogger(__name__)


def is_loopback(address: str) -> bool:
    """Whether a ``tcp://host:port`` (or ``ipc://``/``inproc://``) address stays on this host."""
    if not address.startswith("tcp://"):
        return True
    host = address[len("tcp://") :].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


class DecisionServer:
    """Host recommenders for remote clients and answer their requests.

    Parameters
    ----------
    bind : str
        ZeroMQ endpoint to listen on, e.g. ``"tcp://127.0.0.1:5555"`` (port 0 or
        ``"*"``: a free port, see :attr:`address`).
    max_sessions : int
        Sessions held at once; an ``open`` beyond it is refused.
    idle_timeout : float
        Seconds without a request after which a session is dropped.
    secret_key : str or Path, optional
        CURVE secret certificate of the server (``zmq.auth.create_certificates``):
        every message is encrypted and only clients that know the public key can talk.
    authorized_keys : str or Path, optional
        Directory of the clients' public certificates; with it, only those clients
        are accepted (without it, any client with the server's public key is).

    Raises
    ------
    InputDataError
        A bad endpoint, count or key file.
    """

    def __init__(
        self,
        bind: str = "tcp://127.0.0.1:5555",
        *,
        max_sessions: int = 16,
        idle_timeout: float = 3600.0,
        secret_key: str | Path | None = None,
        authorized_keys: str | Path | None = None,
    ):
        if not isinstance(bind, str) or "://" not in bind:
            raise InputDataError(
                f"bind must be an endpoint like tcp://127.0.0.1:5555, got {bind!r}"
            )
        self.max_sessions = check_int("max_sessions", max_sessions, 1)
        self.idle_timeout = float(idle_timeout)
        if not self.idle_timeout > 0:
            raise InputDataError(f"idle_timeout must be > 0 s, got {idle_timeout!r}")
        if authorized_keys is not None and secret_key is None:
            raise InputDataError("authorized_keys needs secret_key (CURVE) as well")
        self.sessions: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._ctx = zmq.Context()
        self._auth: Any = None
        self._sock = self._ctx.socket(zmq.ROUTER)
        self._sock.linger = 0
        self.encrypted = secret_key is not None
        if secret_key is not None:
            self._curve(Path(secret_key), authorized_keys)
        try:
            self._sock.bind(bind[:-2] + ":*" if bind.endswith(":0") else bind)
        except zmq.ZMQError as exc:
            self.close()
            raise InputDataError(f"cannot listen on {bind}: {exc}") from None
        self.address = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._done: queue.Queue[tuple[list[bytes], bytes]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoscope-decide")
        import torch  # now, not at the first hello (whose client waits a few seconds at most)

        self._cuda = bool(torch.cuda.is_available())

    def _curve(self, secret: Path, authorized: str | Path | None) -> None:
        from zmq.auth import load_certificate
        from zmq.auth.thread import ThreadAuthenticator

        try:
            public, private = load_certificate(secret)
        except (OSError, ValueError) as exc:
            raise InputDataError(f"cannot read the CURVE secret key {secret}: {exc}") from None
        if private is None:
            raise InputDataError(f"{secret} holds no secret key (give the .key_secret file)")
        self._auth = ThreadAuthenticator(self._ctx)
        self._auth.start()
        if authorized is None:
            self._auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        else:
            if not Path(authorized).is_dir():
                raise InputDataError(f"authorized_keys must be a directory, got {authorized}")
            self._auth.configure_curve(domain="*", location=str(authorized))
        self._sock.curve_secretkey = private
        self._sock.curve_publickey = public
        self._sock.curve_server = True

    # -- the loop -----------------------------------------------------------------------------
    def serve_forever(self) -> None:
        """Answer requests until :meth:`stop` is called (from a signal handler or a thread)."""
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        last_sweep = time.monotonic()
        while not self._stop.is_set():
            events = dict(poller.poll(200))
            if events.get(self._wake_r):
                os.read(self._wake_r, 4096)
            while not self._done.empty():
                envelope, payload = self._done.get_nowait()
                self._sock.send_multipart([*envelope, payload])
            if events.get(self._sock):
                while self._sock.poll(0):
                    self._receive(self._sock.recv_multipart())
            if time.monotonic() - last_sweep > 1.0:  # sessions live in the worker's thread
                self._worker.submit(self._expire)
                last_sweep = time.monotonic()

    def stop(self) -> None:
        """Make :meth:`serve_forever` return (thread- and signal-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Drop every session and release the socket."""
        self._stop.set()
        worker = getattr(self, "_worker", None)
        if worker is not None:
            worker.shutdown(wait=False, cancel_futures=True)
            os.close(self._wake_r)
            os.close(self._wake_w)
        self.sessions.clear()
        if self._auth is not None:
            self._auth.stop()
        self._sock.close(linger=0)
        self._ctx.term()

    def _receive(self, frames: list[bytes]) -> None:
        envelope, payload = frames[:-1], frames[-1]
        try:
            request = decode(payload)
        except DecisionServerError as exc:
            self._sock.send_multipart([*envelope, encode(error_reply(None, exc))])
            return
        rid = request.get("id")
        if request.get("protocol") != PROTOCOL:
            refused = DecisionServerError(
                f"protocol mismatch: the client speaks autoscope decision protocol "
                f"{request.get('protocol')!r}, this server {PROTOCOL} (autoscope {__version__}); "
                "install the same autoscope version on both hosts"
            )
            self._sock.send_multipart([*envelope, encode(error_reply(rid, refused))])
            return
        if request.get("op") == "hello":  # answered at once, even while a model trains
            self._sock.send_multipart([*envelope, encode({"id": rid, "ok": True, **self.hello()})])
            return
        future = self._worker.submit(self._timed, request)
        future.add_done_callback(lambda f: self._finished(envelope, rid, f))

    def _finished(self, envelope: list[bytes], rid: Any, future: Future) -> None:
        try:
            reply = future.result()
        except Exception as exc:  # every failure goes back to the client, the server lives on
            reply = error_reply(rid, exc)
        try:
            payload = encode(reply)
        except Exception as exc:  # a result msgpack cannot carry
            payload = encode(error_reply(rid, DecisionServerError(f"cannot send the reply: {exc}")))
        self._done.put((envelope, payload))
        try:
            os.write(self._wake_w, b"!")
        except OSError:  # closed while the call ran
            pass

    # -- requests -----------------------------------------------------------------------------
    def hello(self) -> dict[str, Any]:
        """Return what a client checks before it trusts this server."""
        return {
            "protocol": PROTOCOL,
            "version": __version__,
            "host": socket.gethostname(),
            "cuda": self._cuda,
            "encrypted": self.encrypted,
            "sessions": len(self.sessions),
            "max_sessions": self.max_sessions,
        }

    def _timed(self, request: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        reply = self._handle(request)
        reply["t_server"] = time.perf_counter() - t0  # s, so a client can tell the transport
        return reply

    def _handle(self, request: dict[str, Any]) -> dict[str, Any]:
        rid, op = request.get("id"), request.get("op")
        if op == "validate":
            result = _validate(request.get("kind"), request.get("spec"))
            return {"id": rid, "ok": True, "result": result}
        if op == "open":
            opened = self._open(request.get("image"), request.get("config"))
            return {"id": rid, "ok": True, **opened}
        if op not in ("call", "close"):
            raise DecisionServerError(f"unknown request {op!r}")
        sid = str(request.get("session"))
        if sid not in self.sessions:
            raise DecisionServerError(
                f"no session {sid} on this decision server (it was restarted, or the session "
                f"was idle for more than {self.idle_timeout:g} s)"
            )
        if op == "close":
            del self.sessions[sid]
            log.info("session %s closed", sid)
            return {"id": rid, "ok": True, "result": None}
        held = self.sessions[sid]
        held["last"] = time.monotonic()
        rec, method = held["rec"], str(request.get("method"))
        if method not in METHODS:
            raise DecisionServerError(f"{method!r} is not a recommender method a client may call")
        args = list(request.get("args") or [])
        if method.startswith("get:"):
            result = getattr(rec, method[4:])
            result = getattr(result, "spec", result)  # the policy as its JSON spec
        elif method == "set:policy":
            rec.policy = args[0]
            result = None
        else:
            result = getattr(rec, method)(*args)
        state: dict[str, Any] = {"pending": rec.pending}
        if method == "suggest":
            state["last_decision"] = rec.last_decision
        return {"id": rid, "ok": True, "result": result, "state": state}

    def _open(self, image: Any, config: Any) -> dict[str, Any]:
        import autoscope.steering.layers  # noqa: F401  (registers steering's "boosted" policy)
        from autoscope.recommender import DKLRecommender

        if not isinstance(config, dict):
            raise InputDataError(f"config must be a dict, got {type(config).__name__}")
        self._expire()
        if len(self.sessions) >= self.max_sessions:
            raise DecisionServerError(
                f"this decision server holds {len(self.sessions)} sessions, its maximum "
                "(--max-sessions); finish a run or start another server"
            )
        try:
            rec = DKLRecommender(image, **config)
        except TypeError as exc:  # an option DKLRecommender does not take
            raise InputDataError(f"bad recommender config: {exc}") from None
        sid = uuid.uuid4().hex
        self.sessions[sid] = {"rec": rec, "last": time.monotonic()}
        log.info("session %s opened: %d candidates, model %s", sid, len(rec.candidates),
                 rec.config.get("model"))  # fmt: skip
        return {
            "session": sid,
            "candidates": rec.candidates,
            "config": rec.config,
            "state": {"pending": rec.pending},
        }

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [k for k, v in self.sessions.items() if now - v["last"] > self.idle_timeout]:
            log.info("session %s dropped after %.0f s idle", sid, self.idle_timeout)
            self.sessions.pop(sid, None)


def _validate(kind: Any, spec: Any) -> Any:
    """Normalise a model spec here, where the model will run (its device may be only here)."""
    if kind != "model":
        raise InputDataError(f"only model specs are validated on the server, got {kind!r}")
    from autoscope import models

    if isinstance(spec, str) and spec:
        spec = {"name": spec, "params": {}}
    models.from_spec(spec)
    return spec
