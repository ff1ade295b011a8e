"""The durable journal: every Bluesky document of a run, appended to a local file first.

A write-ahead log for runs. :class:`Journal` is a RunEngine callback that appends
each document to one file per run, ``<journal dir>/<start uid>.msgpack``, and
flushes it to the operating system before returning, i.e. before the RunEngine
takes the plan's next step; the document is then safe from a crash of the
process (``kill -9``, SIGTERM, out-of-memory kill). Forcing to the disk
(``os.fsync``, what survives a power cut) follows ``fsync``: ``"interval"`` (the
default) forces the start and stop documents at once and the others at most
``sync_interval`` seconds (1 s) later, off the plan's path when a
:class:`~autoscope.storage.writer.SafeWriter` owns the journal; ``"document"``
forces every document before the next step (≈ 6–10 ms each on the disk measured,
see ``benchmarks/JOURNAL.md``); ``"run"`` forces only start and stop.

Format: a stream of msgpack records ``[name, doc]`` (the encoding bluesky-kafka
uses for documents), numpy arrays and scalars kept exactly (dtype, shape, bytes)
by ``msgpack_numpy``. The first record is a header ``["autoscope_journal",
{"version": 1, "destination": ...}]``. A record cut short by a crash is ignored
on reading. While a run is being written its file holds an exclusive lock
(``fcntl.flock``), released by the operating system when the process ends;
:func:`unfinished` lists journals that are not locked and not delivered. A run
whose documents all reached the catalog is moved to ``delivered/``.

Default directory: ``$AUTOSCOPE_JOURNAL`` if set, else
``$XDG_STATE_HOME/autoscope/journal`` (``~/.local/state/autoscope/journal``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgpack
import msgpack_numpy

from autoscope.errors import InputDataError

__all__ = [
    "FSYNC_POLICIES",
    "HEADER",
    "Journal",
    "default_journal_dir",
    "mark_delivered",
    "read_journal",
    "try_lock",
    "unfinished",
]

logger = logging.getLogger(__name__)

#: Name of the first record of every journal file.
HEADER = "autoscope_journal"
#: When documents are forced to disk (see :class:`Journal`)
FSYNC_POLICIES = ("interval", "document", "run")
_SUFFIX = ".msgpack"
_DELIVERED = "delivered"


def default_journal_dir() -> Path:
    """Return the journal directory (see the module docstring)."""
    env = os.environ.get("AUTOSCOPE_JOURNAL")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "autoscope" / "journal"


def _pack(name: str, doc: Any) -> bytes:
    return msgpack.packb([name, doc], default=msgpack_numpy.encode, use_bin_type=True)


def read_journal(path: str | os.PathLike) -> tuple[dict[str, Any], list[tuple[str, dict]]]:
    """Read a journal file: its header and its documents, in order.

    A last record cut short (the process died while writing it) is dropped.

    Returns
    -------
    (dict, list of (str, dict))
        The header (``{}`` when absent) and the ``(name, doc)`` pairs.

    Raises
    ------
    ValueError
        If the file is not a journal (undecodable data before the end).
    """
    header: dict[str, Any] = {}
    docs: list[tuple[str, dict]] = []
    unpacker = msgpack.Unpacker(
        object_hook=msgpack_numpy.decode, raw=False, strict_map_key=False, max_buffer_size=0
    )
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            unpacker.feed(chunk)
            try:
                for record in unpacker:
                    if not isinstance(record, list) or len(record) != 2:
                        raise InputDataError(f"{path}: not an autoscope journal record")
                    name, doc = record
                    if name == HEADER:
                        header = dict(doc)
                    else:
                        docs.append((str(name), doc))
            except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
                raise InputDataError(f"{path}: not an autoscope journal ({exc})") from None
    return header, docs


def try_lock(f: BinaryIO) -> bool:
    """Take the exclusive lock of an open journal file; ``False`` if another process holds it."""
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def unfinished(directory: str | os.PathLike | None = None) -> list[Path]:
    """List journal files not delivered and not being written, oldest first."""
    directory = Path(directory) if directory is not None else default_journal_dir()
    if not directory.is_dir():
        return []
    out = []
    for path in directory.glob(f"*{_SUFFIX}"):
        with open(path, "rb") as f:
            if try_lock(f):  # released when the file is closed
                out.append(path)
    return sorted(out, key=lambda p: p.stat().st_mtime)


def mark_delivered(path: str | os.PathLike) -> Path:
    """Move a journal file into ``delivered/`` beside it (atomic rename); return the new path."""
    path = Path(path)
    target = path.parent / _DELIVERED / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


class _RunFile:
    """One open journal file: appended, flushed, locked."""

    def __init__(self, path: Path, destination: str, fsync: str) -> None:
        self.path, self.fsync = path, fsync
        self.file = open(path, "ab")  # noqa: SIM115 - kept open for the run
        if not try_lock(self.file):
            self.file.close()
            raise InputDataError(f"journal {path} is locked by another process")
        self.append(_pack(HEADER, {"version": 1, "destination": destination}), sync=False)

    def append(self, packed: bytes, *, sync: bool) -> None:
        self.file.write(packed)
        self.file.flush()
        if sync:
            os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()  # releases the lock


class Journal:
    """RunEngine callback: append every document to the run's journal file, flushed.

    Parameters
    ----------
    directory : str or path-like, optional
        Where journal files go; :func:`default_journal_dir` when omitted.
    destination : str
        Where the run is meant to be stored (a catalog directory or URI),
        written into the header for ``autoscope recover`` to report.
    fsync : {"interval", "document", "run"}
        When documents are forced to disk (see the module docstring).
    close_on_stop : bool
        Close (and unlock) a run's file at its stop document; ``False`` when the
        owner calls :meth:`finish` once the run is delivered.

    Raises
    ------
    ValueError
        For an unknown ``fsync`` policy or a directory that cannot be created.

    Notes
    -----
    An error writing the journal (a full disk) propagates and aborts the run:
    a run that could not be kept safe does not go on.
    """

    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        *,
        destination: str = "",
        fsync: str = "interval",
        close_on_stop: bool = True,
        sync_interval: float = 1.0,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise InputDataError(f"fsync must be one of {FSYNC_POLICIES}, got {fsync!r}")
        self.directory = Path(directory) if directory is not None else default_journal_dir()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create the journal directory {self.directory}: {exc}"
            raise InputDataError(msg) from None
        self.destination, self.fsync = str(destination), fsync
        self.close_on_stop = close_on_stop
        self.sync_interval = float(sync_interval)
        #: set by an owner that calls :meth:`sync_due` from its own thread
        self.background_sync = False
        self._last_sync = time.monotonic()
        self._runs: dict[str, _RunFile] = {}
        self._run_of: dict[str, str] = {}  # descriptor / resource uid -> run start uid

    def path(self, uid: str) -> Path:
        """Return the journal file of run ``uid`` (in the directory, or in ``delivered/``)."""
        path = self.directory / f"{uid}{_SUFFIX}"
        delivered = self.directory / _DELIVERED / path.name
        return delivered if not path.exists() and delivered.exists() else path

    def run_uid(self, name: str, doc: dict) -> str | None:
        """Return the start uid of the run a document belongs to (``None``: unknown)."""
        if name == "start":
            return doc["uid"]
        for key in ("run_start", "descriptor", "stream_resource", "resource"):
            ref = doc.get(key)
            if ref is not None:
                return ref if key == "run_start" else self._run_of.get(ref)
        if name == "event_page" or name == "datum_page":
            refs = doc.get("descriptor") or doc.get("resource")
            return self._run_of.get(refs) if isinstance(refs, str) else None
        return None

    def __call__(self, name: str, doc: dict) -> None:
        """Append ``(name, doc)`` to its run's file and flush it (see the class notes)."""
        uid = self.run_uid(name, doc)
        if uid is None:
            logger.warning("journal: a %r document of no known run was not journaled", name)
            return
        self.append_packed(uid, name, doc, _pack(name, doc))

    def append_packed(self, uid: str, name: str, doc: dict, packed: bytes) -> None:
        """Append one document already packed (``[name, doc]`` as msgpack) to run ``uid``."""
        if name == "start":
            path = self.directory / f"{uid}{_SUFFIX}"
            self._runs[uid] = _RunFile(path, self.destination, self.fsync)
        run = self._runs.get(uid)
        if run is None:
            logger.warning("journal: a %r document of run %s arrived after its stop", name, uid)
            return
        if name in ("descriptor", "resource", "stream_resource"):
            self._run_of[doc["uid"]] = uid
        run.append(packed, sync=self.fsync == "document" or name in ("start", "stop"))
        if self.fsync == "interval" and not self.background_sync:
            self.sync_due()
        if name == "stop":
            self._run_of = {k: v for k, v in self._run_of.items() if v != uid}
            if self.close_on_stop:
                self.finish(uid)

    def finish(self, uid: str, *, delivered: bool = False) -> Path:
        """Close run ``uid``'s file (releasing its lock); move it to ``delivered/`` if asked.

        Returns the file's path afterwards.
        """
        run = self._runs.pop(uid, None)
        path = self.directory / f"{uid}{_SUFFIX}"
        if delivered and path.exists():
            path = mark_delivered(path)  # renamed while still locked: no recover races it
        if run is not None:
            run.close()
        return path

    def sync_due(self) -> None:
        """Force every open run file to disk if ``sync_interval`` s passed since the last time."""
        if self.fsync != "interval" or time.monotonic() - self._last_sync < self.sync_interval:
            return
        self._last_sync = time.monotonic()
        for run in list(self._runs.values()):
            try:
                os.fsync(run.file.fileno())
            except (OSError, ValueError):  # closed meanwhile by the RunEngine's thread
                pass

    def close(self) -> None:
        """Close every open run file (their runs stay unfinished: ``autoscope recover``)."""
        for run in self._runs.values():
            run.close()
        self._runs.clear()

    def documents(self, uid: str) -> Iterator[tuple[str, dict]]:
        """Yield the documents journaled for run ``uid`` (header left out)."""
        yield from read_journal(self.path(uid))[1]
