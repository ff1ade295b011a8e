"""The safe writer: a journal on the plan's path, Tiled in a background worker.

:class:`SafeWriter` is the RunEngine callback :func:`autoscope.storage.make_writer`
returns. For each document it (1) appends it to the run's journal file and flushes
it (:class:`~autoscope.storage.journal.Journal`), then (2) hands the packed record
to a worker thread and returns: the plan's next step never waits for Tiled. The
worker writes to Tiled in batches (every ``flush_interval`` seconds or
``batch_size`` events, whichever comes first, and at once at a stop document).

When Tiled fails (an exception, or no answer for ``stall_after`` seconds) the
writer warns at the next document (:class:`TiledOutageWarning` and the log),
the run goes on into the journal, and the worker retries every
``retry_interval`` seconds; once Tiled answers it rewrites the run from the
documents so far (replacing the partial copy) and carries on. At a stop
document the writer waits up to ``stop_timeout`` seconds for the run to be in
Tiled, then moves its journal to ``delivered/``; a run not delivered by then
stays in the journal for the worker to finish, or for ``autoscope recover``.

The worker keeps the documents of each open run in memory, to rewrite it after
a failure (a 64 x 64 run of 80 steps with maps: ~5 MB); they are dropped once
the run is delivered. A Tiled server (not an embedded catalog) is also probed
by a heartbeat thread every ``flush_interval`` (0.1-1 s) while a run is open,
so an outage is known within a step even while a write sits in Tiled's own
retries; a write that an outage overlapped is redone from the journal, so the
client's retried appends can never double rows.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import warnings
from collections import deque
from typing import Any

import msgpack
import msgpack_numpy

from autoscope.storage.delivery import TiledRun, write_run
from autoscope.storage.journal import Journal, _pack

__all__ = ["SafeWriter", "TiledOutageWarning"]

logger = logging.getLogger(__name__)


class TiledOutageWarning(UserWarning):
    """Tiled does not take documents; they are kept in the journal and sent later."""


def _unpack(packed: bytes) -> tuple[str, dict]:
    name, doc = msgpack.unpackb(
        packed, object_hook=msgpack_numpy.decode, raw=False, strict_map_key=False
    )
    return name, doc


def _is_embedded(client: Any) -> bool:
    """Whether a Tiled client talks to an in-process app (no network to fail)."""
    testclient = sys.modules.get("starlette.testclient")  # imported by every embedded catalog
    if testclient is None:
        return False
    return isinstance(getattr(client.context, "http_client", None), testclient.TestClient)


class _Run:
    """What the worker knows of one run."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.docs: list[tuple[str, dict]] = []
        self.tiled: TiledRun | None = None
        self.broken = False  # Tiled failed: rewrite from ``docs`` when it answers
        self.delivered = threading.Event()
        self.first_pending: float | None = None


class _Worker(threading.Thread):
    """Take packed documents from a queue and write them to Tiled (see the module docstring)."""

    def __init__(self, owner: SafeWriter) -> None:
        super().__init__(name="autoscope-tiled-writer", daemon=True)
        self.owner = owner
        self.queue: deque[tuple[str, bytes]] = deque()
        self.wake = threading.Condition()
        self.runs: dict[str, _Run] = {}
        self.closing = False
        self.busy_since: float | None = None
        self.error: str | None = None
        self.next_retry = 0.0

    def put(self, uid: str, packed: bytes) -> None:
        with self.wake:
            self.queue.append((uid, packed))
            self.wake.notify()

    def run(self) -> None:  # the thread's body
        while True:
            with self.wake:
                if not self.queue:
                    self.wake.wait(timeout=0.05 if self.closing else self._sleep())
                items = list(self.queue)
                self.queue.clear()
            for uid, packed in items:
                self._take(uid, *_unpack(packed))
            self._service(force=self.closing)
            self.owner.journal.sync_due()  # fsync policy "interval": off the plan's path
            if self.closing and not self.queue:
                if not any(r.broken for r in list(self.runs.values())):
                    return
                if time.monotonic() > self.owner._close_deadline:
                    return

    def _sleep(self) -> float:
        if self.runs and self.owner.journal.fsync == "interval":
            return min(self.owner.journal.sync_interval, self._sleep_tiled())
        return self._sleep_tiled()

    def _sleep_tiled(self) -> float:
        if any(r.broken for r in list(self.runs.values())):
            return max(0.05, self.next_retry - time.monotonic())
        waits = [
            r.first_pending + self.owner.flush_interval - time.monotonic()
            for r in list(self.runs.values())
            if r.first_pending is not None
        ]
        return max(0.01, min(waits)) if waits else 1.0

    def _take(self, uid: str, name: str, doc: dict) -> None:
        run = self.runs.setdefault(uid, _Run(uid))
        run.docs.append((name, doc))
        if run.broken:
            return
        if name in ("event", "event_page") and run.first_pending is None:
            run.first_pending = time.monotonic()
        if self._guard(run, lambda: self._feed(run, name, doc)) and name == "stop":
            self._delivered(run)

    def _feed(self, run: _Run, name: str, doc: dict) -> None:
        if name not in ("event", "event_page", "datum", "datum_page", "stream_datum"):
            self.owner.probe()  # this document writes at once: fail fast if Tiled is gone
        if run.tiled is None:
            run.tiled = TiledRun(self.owner.client, self.owner.max_array_size)
        run.tiled(name, doc)
        if name != "stop" and run.tiled.pending >= self.owner.batch_size:
            self.owner.probe()
            run.tiled.flush()
            run.first_pending = None

    def _service(self, force: bool = False) -> None:
        now = time.monotonic()
        for run in list(self.runs.values()):
            if run.broken and now >= self.next_retry:
                if self._guard(run, lambda r=run: self._rewrite(r)) and run.docs[-1][0] == "stop":
                    self._delivered(run)
            elif (
                not run.broken
                and run.first_pending is not None
                and (force or now - run.first_pending >= self.owner.flush_interval)
                and run.tiled is not None
            ):
                self._guard(run, lambda r=run: self._flush(r))

    def _flush(self, run: _Run) -> None:
        self.owner.probe()
        run.tiled.flush()  # type: ignore[union-attr]
        run.first_pending = None

    def _rewrite(self, run: _Run) -> None:
        self.owner.probe()
        run.tiled = write_run(self.owner.client, run.docs, self.owner.max_array_size)
        run.broken, run.first_pending = False, None
        logger.warning(
            "Tiled is back: run %s rewritten from its %d journaled documents", run.uid,
            len(run.docs),
        )  # fmt: skip

    def _delivered(self, run: _Run) -> None:
        self.owner.journal.finish(run.uid, delivered=True)
        run.delivered.set()
        run.docs = []
        del self.runs[run.uid]

    def _guard(self, run: _Run, action: Any) -> bool:
        """Run a Tiled action; on failure, or an outage seen meanwhile, mark the run for a rewrite.

        An outage during a write that then succeeded (Tiled's client retries for up to
        ~45 s) may have doubled rows: the run is rewritten from the journal to be sure.
        """
        t0 = self.busy_since = time.monotonic()
        try:
            action()
            if self.owner.last_outage >= t0:
                raise ConnectionError("Tiled was unreachable during this write")
        except Exception as exc:  # noqa: BLE001 - any Tiled failure: journal, retry later
            if not run.broken:
                logger.warning(
                    "Tiled write of run %s failed: %s: %s; it will be rewritten from the journal",
                    run.uid, type(exc).__name__, exc,
                )  # fmt: skip
            run.broken, run.tiled, run.first_pending = True, None, None
            self.error = f"{type(exc).__name__}: {exc}"
            self.next_retry = time.monotonic() + self.owner.retry_interval
            return False
        else:
            if not any(r.broken for r in list(self.runs.values())):
                self.error = None
            return True
        finally:
            self.busy_since = None


class SafeWriter:
    """RunEngine callback: journal every document, write to Tiled in the background.

    Build it with :func:`autoscope.storage.make_writer`. See the module docstring
    for the guarantees.

    Parameters
    ----------
    client : tiled client
        A ``CatalogOfBlueskyRuns`` client.
    journal : Journal
        Where documents go first.
    batch_size : int
        Events of a run written at most together.
    flush_interval : float
        Seconds an event waits at most before it is written to Tiled.
    retry_interval : float
        Seconds between attempts while Tiled fails.
    stall_after : float
        Seconds without an answer from Tiled after which the writer warns.
    stop_timeout : float
        Seconds a stop document waits for its run to be delivered.
    max_array_size : int
        As ``TiledWriter``'s (0: every array as zarr).
    """

    def __init__(
        self,
        client: Any,
        journal: Journal,
        *,
        batch_size: int = 50,
        flush_interval: float = 1.0,
        retry_interval: float = 2.0,
        stall_after: float = 5.0,
        stop_timeout: float = 60.0,
        max_array_size: int = 0,
    ) -> None:
        self.client, self.journal = client, journal
        journal.background_sync = True
        self.batch_size, self.flush_interval = batch_size, flush_interval
        self.retry_interval, self.stall_after = retry_interval, stall_after
        self.stop_timeout, self.max_array_size = stop_timeout, max_array_size
        self.warned: str | None = None
        self._close_deadline = float("inf")
        self._embedded = _is_embedded(client)
        #: when the heartbeat last failed to reach Tiled (monotonic s), and why
        self.last_outage: float = -1.0
        self.outage: str | None = None
        self._worker = _Worker(self)
        self._worker.start()
        if not self._embedded:
            threading.Thread(target=self._heartbeat, name="autoscope-tiled-heartbeat",
                             daemon=True).start()  # fmt: skip

    def _heartbeat(self) -> None:
        """While a run is open, ask the server every ``flush_interval`` s (0.1-1 s) if it answers.

        The worker may sit for ~45 s in Tiled's own retries of a write cut by an
        outage; the heartbeat makes the outage known within a step regardless.
        """
        while self._worker.is_alive():
            if self._worker.runs:
                try:
                    self.probe()
                except Exception as exc:  # noqa: BLE001 - any failure to answer is an outage
                    self.last_outage = time.monotonic()
                    self.outage = f"{type(exc).__name__}: {exc}"
                else:
                    self.outage = None
            time.sleep(min(1.0, max(0.1, self.flush_interval)))

    # -- the plan's path ---------------------------------------------------------------
    def __call__(self, name: str, doc: dict) -> None:
        """Journal ``(name, doc)`` (flushed), queue it for Tiled, warn if Tiled is in trouble."""
        uid = self.journal.run_uid(name, doc)
        if uid is None:
            logger.warning("a %r document of no known run was not stored", name)
            return
        packed = _pack(name, doc)
        self.journal.append_packed(uid, name, doc, packed)
        if name == "start":  # known at once, so that its stop can wait for its delivery
            self._worker.runs.setdefault(uid, _Run(uid))
        self._worker.put(uid, packed)
        self._check()
        if name == "stop":
            self.wait_delivered(uid, self.stop_timeout)

    def _check(self) -> None:
        trouble = self.trouble()
        if trouble and not self.warned:
            self.warned = trouble
            msg = (
                f"Tiled is not taking documents ({trouble}); the run goes on and every "
                f"document is kept in the journal {self.journal.directory}, to be written "
                "when Tiled answers"
            )
            logger.warning(msg)
            warnings.warn(msg, TiledOutageWarning, stacklevel=3)
        elif not trouble and self.warned:
            logger.warning("Tiled answers again after: %s", self.warned)
            self.warned = None

    def trouble(self) -> str | None:
        """Why Tiled is not taking documents now (``None``: it is)."""
        if self._worker.error is not None:
            return self._worker.error
        if self.outage is not None:
            return self.outage
        since = self._worker.busy_since
        if since is not None and time.monotonic() - since > self.stall_after:
            return f"no answer for {time.monotonic() - since:.1f} s"
        return None

    # -- waiting and closing -----------------------------------------------------------
    def probe(self) -> None:
        """Raise if a Tiled server does not answer one plain request (no retries, ≤ 3 s).

        Tiled's client retries a failed request for up to ~45 s; this probe makes an
        outage known within one write instead. Embedded catalogs are not probed.
        """
        if self._embedded:
            return
        http = self.client.context.http_client
        response = http.get(self.client.uri, timeout=3.0)  # a refused connection fails at once
        if response.status_code >= 500:
            raise ConnectionError(f"Tiled answered {response.status_code}")

    def wait_delivered(self, uid: str, timeout: float | None = None) -> bool:
        """Wait until run ``uid`` is in Tiled (``True``) or ``timeout`` s pass (``False``)."""
        run = self._worker.runs.get(uid)
        if run is None:
            return self.journal.path(uid).parent.name == "delivered"
        ok = run.delivered.wait(timeout)
        if not ok:
            msg = (
                f"run {uid} is not in Tiled yet ({self.trouble() or 'still writing'}); it is "
                f"safe in the journal {self.journal.path(uid)}; this process keeps trying, "
                "or run `autoscope recover` later"
            )
            logger.warning(msg)
            warnings.warn(msg, TiledOutageWarning, stacklevel=3)
        return ok

    def close(self, timeout: float = 60.0) -> None:
        """Deliver what is queued (up to ``timeout`` s), stop the worker, close the journal."""
        self._close_deadline = time.monotonic() + timeout
        with self._worker.wake:
            self._worker.closing = True
            self._worker.wake.notify()
        self._worker.join(timeout)
        self.journal.close()
