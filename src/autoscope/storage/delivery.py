"""Delivery to Tiled: one run's documents written by ``bluesky_tiled_plugins``, off the plan's path.

:class:`TiledRun` writes one run into a catalog with the TiledWriter machinery
of ``bluesky_tiled_plugins`` (its ``RunNormalizer`` and per-run writer) and adds
what the RunEngine-thread ``TiledWriter`` lacks for a background worker: an
explicit :meth:`TiledRun.flush` of the events collected so far. :func:`write_run`
writes a whole list of documents, replacing a partial copy of the run that a
crash or an outage left in the catalog, so writing the same documents twice
never doubles them. :func:`stored_counts` says what the catalog holds of a run.

The per-run writer and its caches are private names of ``bluesky_tiled_plugins``
2.0 (pinned in ``constraints.txt``); ``tests/storage`` exercises them.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

__all__ = ["TiledRun", "delete_run", "journal_counts", "stored_counts", "write_run"]

logger = logging.getLogger(__name__)

#: events collected per stream before a write happens on its own (the worker flushes earlier)
_NEVER = 10**9


class TiledRun:
    """Write one run's documents into a Tiled catalog; events go out on :meth:`flush`.

    Parameters
    ----------
    client : tiled client
        A ``CatalogOfBlueskyRuns`` client (:func:`autoscope.storage.open_catalog`).
    max_array_size : int
        As ``TiledWriter``'s: 0 stores every array as zarr.
    """

    def __init__(self, client: Any, max_array_size: int = 0) -> None:
        from bluesky_tiled_plugins.writing.tiled_writer import RunNormalizer, _RunWriter

        self._writer = _RunWriter(
            client.include_data_sources(), batch_size=_NEVER, max_array_size=max_array_size
        )
        self._normalizer = RunNormalizer()
        self._normalizer.subscribe(self._writer)
        self.pending = 0  # events received and not yet written

    def __call__(self, name: str, doc: dict) -> None:
        """Route one document (start, descriptor and stop write at once; events wait)."""
        self._normalizer(name, doc)
        if name == "event":
            self.pending += 1
        elif name == "event_page":
            self.pending += len(doc.get("seq_num") or ())
        elif name == "stop":
            self.pending = 0  # the writer's stop writes what it collected

    def flush(self) -> None:
        """Write every collected event of every stream now."""
        w = self._writer
        for desc_name, cache in w._internal_data_cache.items():
            if cache:
                w._write_internal_data(cache, desc_node=w._desc_nodes[desc_name])
                cache.clear()
        self.pending = 0


def delete_run(client: Any, uid: str) -> bool:
    """Delete run ``uid`` and everything under it from the catalog; ``False`` if absent."""
    if uid not in client:
        return False
    client[uid].delete(recursive=True, external_only=False)
    return True


def write_run(client: Any, docs: list[tuple[str, dict]], max_array_size: int = 0) -> TiledRun:
    """Write a run's documents (from its start on) into the catalog, replacing a partial copy.

    Returns the :class:`TiledRun`, flushed; while the run has no stop document the
    caller can go on feeding it.

    Raises
    ------
    ValueError
        If the first document is not a start document.
    """
    from autoscope.errors import InputDataError

    if not docs or docs[0][0] != "start":
        raise InputDataError("a run's documents must begin with its start document")
    uid = docs[0][1]["uid"]
    if delete_run(client, uid):
        logger.info("run %s: a partial copy in the catalog was replaced", uid)
    run = TiledRun(client, max_array_size=max_array_size)
    for name, doc in docs:
        run(name, doc)
    run.flush()
    return run


def journal_counts(docs: list[tuple[str, dict]]) -> tuple[Counter, bool]:
    """Return events per stream name in a list of documents, and whether it has a stop."""
    names: dict[str, str] = {}
    counts: Counter = Counter()
    for name, doc in docs:
        if name == "descriptor":
            names[doc["uid"]] = doc["name"]
            counts[doc["name"]] += 0
        elif name == "event":
            counts[names.get(doc["descriptor"], "?")] += 1
        elif name == "event_page":
            counts[names.get(doc["descriptor"], "?")] += len(doc.get("seq_num") or ())
    return counts, any(name == "stop" for name, _ in docs)


def stored_counts(client: Any, uid: str) -> tuple[Counter, bool] | None:
    """Return events per stream the catalog holds of run ``uid`` and whether it has a stop.

    ``None`` when the catalog has no such run.
    """
    if uid not in client:
        return None
    run = client[uid]
    counts: Counter = Counter()
    for stream in run.keys():
        node = run[stream]
        base = getattr(node, "base", node)
        n = 0
        for key, child in base.items():
            if key == "internal" or key.startswith("internal"):
                n = max(n, len(child.read()))
            else:
                shape = getattr(child, "shape", None)
                if shape:
                    n = max(n, int(shape[0]))
        counts[stream] = n
    return counts, run.metadata.get("stop") is not None
