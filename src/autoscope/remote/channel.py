"""One ZeroMQ channel to a decision server: requests with a timeout, replies matched by id.

:class:`Channel` is the transport under :class:`~autoscope.remote.RemoteRecommender`: a
``DEALER`` socket (CURVE-encrypted when given the server's public key), one request at
a time under a lock (the plan's decision worker and the RunEngine thread take turns),
and replies matched to requests by id, so a reply that comes after its request timed out
is dropped rather than taken for the next one's.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from autoscope.errors import DecisionServerError, InputDataError
from autoscope.remote.wire import PROTOCOL, decode, encode, error_from_reply

__all__ = ["Channel"]


class Channel:
    """Requests to one decision server.

    Parameters
    ----------
    address : str
        The server's ZeroMQ endpoint.
    server_key, client_key : str or Path, optional
        CURVE certificates: the server's public one, this client's secret one (default:
        a fresh key pair).

    Attributes
    ----------
    down_at : float or None
        ``time.monotonic()`` of the last request that got no answer (``None``: answered).
    last_round_trip : dict
        The last request's wall time ``total`` and the server's own time ``server`` (s).
    """

    def __init__(
        self,
        address: str,
        server_key: str | Path | None = None,
        client_key: str | Path | None = None,
    ):
        self.address = address
        self.keys = _curve_keys(server_key, client_key)
        self.down_at: float | None = None
        self.last_round_trip: dict[str, Any] = {}
        self.lock = threading.RLock()
        self._sock: Any = None
        self._ids = itertools.count(1)

    def close(self) -> None:
        """Close the socket (a later request opens a new one)."""
        with self.lock:
            if self._sock is not None:
                self._sock.close(linger=0)
                self._sock = None

    def _socket(self) -> Any:
        if self._sock is None:
            sock: Any = zmq.Context.instance().socket(zmq.DEALER)
            sock.linger = 0
            if self.keys is not None:
                sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = self.keys
            sock.connect(self.address)
            self._sock = sock
        return self._sock

    def request(self, op: str, timeout: float, **fields: Any) -> dict[str, Any]:
        """Send one request and return the server's reply.

        Raises
        ------
        DecisionServerError
            No answer within ``timeout`` s (:attr:`down_at` is set), or a server error
            that is not autoscope's or a builtin one.
        Exception
            The server's error, as the same class (:func:`~autoscope.remote.wire.error_from_reply`).
        """
        with self.lock:
            rid = next(self._ids)
            sock = self._socket()
            message = {"protocol": PROTOCOL, "id": rid, "op": op, **fields}
            t0 = time.perf_counter()
            sock.send_multipart([b"", encode(message)])
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sock.poll(int(left * 1000) + 1):
                    self.down_at = time.monotonic()
                    what = op if op != "call" else fields["method"]
                    raise DecisionServerError(
                        f"no answer from the decision server at {self.address} within "
                        f"{timeout:g} s ({what})"
                    )
                reply = decode(sock.recv_multipart()[-1])
                if reply.get("id") in (rid, None):  # replies to requests that timed out: dropped
                    break
            wall, server = time.perf_counter() - t0, reply.get("t_server")
            self.last_round_trip = {"total": wall, "server": server, "op": op}
        if not reply.get("ok"):
            raise error_from_reply(reply)
        return reply


def _curve_keys(server_key: Any, client_key: Any) -> tuple[bytes, bytes, bytes] | None:
    if server_key is None:
        if client_key is not None:
            raise InputDataError("client_key needs server_key (the server's public key) as well")
        return None
    from zmq.auth import load_certificate

    try:
        server_public, _ = load_certificate(server_key)
        if client_key is None:
            public, secret = zmq.curve_keypair()
        else:
            public, secret_or_none = load_certificate(client_key)
            if secret_or_none is None:
                raise InputDataError(f"{client_key} holds no secret key (give .key_secret)")
            secret = secret_or_none
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read a CURVE key: {exc}") from None
    return server_public, public, secret
