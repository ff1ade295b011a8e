"""Recovery: put the runs an interrupted process left in the journal into the catalog.

:func:`recover` reads every unfinished journal file (not delivered, not locked
by a running process; :func:`autoscope.storage.journal.unfinished`) and makes
the catalog hold exactly its documents: a run the catalog lacks is written, a
partial copy (a crash or an outage in the middle of a write) is replaced, a
complete copy is left alone. The journal is then moved to ``delivered/``. It is
idempotent: a second call finds nothing to do. A run that ended without a stop
document stays without one (``autoscope.trace.load`` marks it incomplete).

The command line is ``autoscope recover [--catalog DIR | --tiled-uri URI --api-key K]
[--journal DIR]``.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoscope.storage.delivery import journal_counts, stored_counts, write_run
from autoscope.storage.journal import default_journal_dir, mark_delivered, read_journal, unfinished

__all__ = ["RECOVER_HELP", "Recovered", "add_recover_arguments", "recover", "run_recover"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    """What :func:`recover` did with one journal file.

    Attributes
    ----------
    uid : str
        Run start uid.
    action : str
        ``"written"`` (the catalog lacked it), ``"replaced"`` (a partial copy
        was rewritten), ``"already stored"``, ``"empty"`` (the process died
        before the run's start document: nothing to store) or ``"failed"``.
    events : dict
        Events per stream in the journal.
    complete : bool
        Whether the journal has the run's stop document.
    journal : pathlib.Path
        The journal file afterwards.
    error : str
        Why it failed (``""`` otherwise).
    """

    uid: str
    action: str
    events: dict[str, int]
    complete: bool
    journal: Path
    error: str = ""


def recover(client: Any, journal: str | os.PathLike | None = None) -> list[Recovered]:
    """Write every unfinished journal of ``journal`` into the catalog ``client``.

    Parameters
    ----------
    client : tiled client
        A ``CatalogOfBlueskyRuns`` client (:func:`autoscope.storage.open_catalog`).
    journal : str or path-like, optional
        Journal directory; the default one when omitted.

    Returns
    -------
    list of Recovered
        One entry per unfinished journal (empty: nothing to do).
    """
    out = []
    for path in unfinished(journal):
        try:
            _header, docs = read_journal(path)
        except ValueError as exc:
            logger.error("journal %s is unreadable: %s", path, exc)
            out.append(Recovered(path.stem, "failed", {}, False, path, str(exc)))
            continue
        if not docs:  # killed between opening the file and writing the start: nothing emitted
            out.append(Recovered(path.stem, "empty", {}, False, mark_delivered(path)))
            continue
        if docs[0][0] != "start":
            out.append(Recovered(path.stem, "failed", {}, False, path, "no start document"))
            continue
        uid = docs[0][1]["uid"]
        counts, complete = journal_counts(docs)
        try:
            stored = stored_counts(client, uid)
            if stored is not None and stored == (counts, complete):
                action = "already stored"
            else:
                write_run(client, docs)
                action = "written" if stored is None else "replaced"
        except Exception as exc:  # noqa: BLE001 - report every journal, go on with the next
            logger.error("run %s could not be recovered: %s", uid, exc)
            out.append(Recovered(uid, "failed", dict(counts), complete, path, str(exc)))
            continue
        out.append(Recovered(uid, action, dict(counts), complete, mark_delivered(path)))
    return out


#: one-line help of ``autoscope recover``
RECOVER_HELP = "write runs left in the local journal (a crash, a Tiled outage) into the catalog"


def add_recover_arguments(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``autoscope recover`` to its parser."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--catalog", help="embedded catalog directory (default: the default one)")
    where.add_argument("--tiled-uri", help="Tiled server URI, e.g. http://127.0.0.1:8000")
    p.add_argument("--api-key", help="the server's API key ($TILED_API_KEY when omitted)")
    p.add_argument(
        "--journal", help="journal directory (default: $AUTOSCOPE_JOURNAL, else "
        "$XDG_STATE_HOME/autoscope/journal or ~/.local/state/autoscope/journal)",
    )  # fmt: skip


def run_recover(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Run ``autoscope recover``; print one line per run; return 1 if any failed."""
    from autoscope.storage import close_catalog, open_catalog

    journal = Path(args.journal).expanduser() if args.journal else default_journal_dir()
    if not unfinished(journal):
        print(f"nothing to recover: no unfinished journal in {journal}")
        return 0
    # never create a catalog: a mistyped --catalog is an error, the journal stays unfinished
    client = open_catalog(args.tiled_uri or args.catalog, api_key=args.api_key, create=False)
    try:
        done = recover(client, journal)
    finally:
        close_catalog(client)
    for r in done:
        events = ", ".join(f"{k} {v}" for k, v in sorted(r.events.items())) or "no events"
        state = "complete" if r.complete else "incomplete (no stop document)"
        print(f"{r.uid}: {r.action}: {events}; {state}" + (f"; {r.error}" if r.error else ""))
    if not done:
        print(f"nothing to recover: no unfinished journal in {journal}")
    return 1 if any(r.action == "failed" for r in done) else 0
