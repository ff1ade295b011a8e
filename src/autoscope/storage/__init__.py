"""Where runs are stored: an embedded Tiled catalog, a Tiled server, and the writer callback.

:func:`open_catalog` returns a Tiled client over a catalog of Bluesky runs — an
embedded catalog (SQLite + a data directory, no server process) or a Tiled
server; :func:`make_writer` builds the ``bluesky_tiled_plugins.TiledWriter`` that
stores a RunEngine's documents there; :func:`server_config` writes the
``tiled serve config`` file of an equivalent server.

Default location of the embedded catalog: ``$AUTOSCOPE_CATALOG`` if set, else
``$XDG_DATA_HOME/autoscope/catalog`` (``~/.local/share/autoscope/catalog`` when
``XDG_DATA_HOME`` is unset). A catalog directory holds ``catalog.db`` (the SQLite
catalog), ``data/`` (arrays, as zarr) and ``tabular.db`` (event tables).

Examples
--------
>>> from autoscope.storage import open_catalog, make_writer  # doctest: +SKIP
>>> client = open_catalog("/tmp/my-catalog")  # doctest: +SKIP
>>> RE.subscribe(make_writer(client))  # doctest: +SKIP
>>> run = client[uid]; list(run.documents())  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

from autoscope.errors import InputDataError
from autoscope.storage.errors import catalog_errors, check_directory, probe_server, scrub_uri
from autoscope.storage.journal import Journal, default_journal_dir
from autoscope.storage.server import EXPORTER, SPECS, server_config
from autoscope.storage.writer import SafeWriter, TiledOutageWarning

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "EXPORTER",
    "Journal",
    "SafeWriter",
    "TiledOutageWarning",
    "close_catalog",
    "default_catalog_dir",
    "default_journal_dir",
    "make_writer",
    "open_catalog",
    "server_config",
]


#: Events per write of the TiledWriter. See :func:`make_writer` for the measurement.
DEFAULT_BATCH_SIZE = 50
_SPECS = SPECS


def default_catalog_dir() -> Path:
    """Return the default embedded catalog directory (see the module docstring)."""
    env = os.environ.get("AUTOSCOPE_CATALOG")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "autoscope" / "catalog"


def _catalog_layout(directory: Path) -> dict[str, Any]:
    directory = directory.resolve()
    return {
        "uri": f"sqlite:///{directory / 'catalog.db'}",
        "data": directory / "data",
        "tabular": f"sqlite:///{directory / 'tabular.db'}",
    }


def _embedded(directory: Path) -> Any:
    from bluesky_tiled_plugins.exporters import json_seq_exporter
    from tiled.catalog import from_uri as catalog_from_uri
    from tiled.client import Context, from_context
    from tiled.media_type_registration import default_serialization_registry
    from tiled.server.app import build_app

    layout = _catalog_layout(directory)
    layout["data"].mkdir(parents=True, exist_ok=True)
    adapter = catalog_from_uri(
        layout["uri"],
        # ``init`` runs a subprocess (~1 s); skip it once the catalog exists.
        init_if_not_exists=not (directory / "catalog.db").is_file(),
        specs=copy.deepcopy(_SPECS),
        writable_storage=[str(layout["data"]), layout["tabular"]],
    )
    registry = copy.deepcopy(default_serialization_registry)
    registry.register("BlueskyRun", "application/json-seq", json_seq_exporter)
    app = build_app(adapter, serialization_registry=registry)
    with warnings.catch_warnings():
        # starlette's TestClient, which tiled uses for in-process apps, warns that it
        # prefers the `httpx2` package; the in-process transport works with httpx.
        warnings.filterwarnings(
            "ignore", message="Using `httpx` with `starlette.testclient`", category=UserWarning
        )
        import starlette.testclient  # noqa: F401

    context = Context.from_app(app)
    try:
        client = from_context(context)
    except BaseException:
        context.close()
        raise
    client._autoscope_directory = str(directory.resolve())  # where the journal says it goes
    return client


def open_catalog(
    path_or_uri: str | os.PathLike | None = None,
    api_key: str | None = None,
    *,
    create: bool = True,
) -> Any:
    """Open a catalog of Bluesky runs and return its Tiled client.

    Parameters
    ----------
    path_or_uri : str or path-like, optional
        ``None``: the default embedded catalog (:func:`default_catalog_dir`);
        a directory: an embedded catalog there (created on first use);
        ``http://`` or ``https://`` URI: a Tiled server.
    api_key : str, optional
        API key of a server; ``$TILED_API_KEY`` when omitted. Sent in the
        ``Authorization`` header; a URI that carries ``api_key=`` is refused.
        Ignored for embedded catalogs.
    create : bool
        Create an embedded catalog that does not exist yet (default). Readers
        (``replay``, ``recover``, ``resume``) pass ``False``, so that a mistyped
        path is an error instead of a new, empty catalog.

    Returns
    -------
    tiled.client.container.Container
        A ``CatalogOfBlueskyRuns`` client; ``client[uid]`` is a run,
        ``client[uid].documents()`` replays its documents. An embedded client
        owns its in-process server: close it with :func:`close_catalog` (or
        ``client.context.close()``) when done; it stays alive as long as the
        client is referenced.

    Raises
    ------
    InputDataError
        If the argument is neither a path nor an http(s) URI, or a URI carries
        an API key.
    StorageError
        With a one-line message, if the catalog cannot be opened: a missing or
        wrong key, no server listening, an unknown or unreachable host, a file
        in the way, no permission to write, or (``create=False``) no catalog.
    """
    if path_or_uri is None:
        return _open_directory(default_catalog_dir(), create)
    if isinstance(path_or_uri, str) and path_or_uri.lower().startswith(("http://", "https://")):
        return _open_server(path_or_uri, api_key)
    if isinstance(path_or_uri, str) and "://" in path_or_uri:
        raise InputDataError(
            f"expected a directory or an http(s):// Tiled URI, got {path_or_uri!r}"
        )
    if not isinstance(path_or_uri, str | os.PathLike) or not str(path_or_uri):
        raise InputDataError(
            f"expected a directory or an http(s):// Tiled URI, got {path_or_uri!r}"
        )
    return _open_directory(Path(path_or_uri).expanduser(), create)


def _open_directory(directory: Path, create: bool) -> Any:
    check_directory(directory, create=create)
    with catalog_errors(str(directory)):
        return _embedded(directory)


def _open_server(uri: str, api_key: str | None) -> Any:
    from urllib.parse import parse_qs, urlsplit

    from tiled.client import Context, from_context

    if "api_key" in {k.lower() for k in parse_qs(urlsplit(uri).query)}:
        raise InputDataError(
            f"the URI {scrub_uri(uri)} carries api_key=: give the key with --api-key or "
            f"$TILED_API_KEY (it is sent in a header; URLs end up in logs)"
        )
    key = api_key if api_key is not None else os.environ.get("TILED_API_KEY")
    probe_server(uri)  # one try, a few seconds, instead of tiled's ~25 s of retries
    with catalog_errors(scrub_uri(uri)):
        context, node_path_parts = Context.from_any_uri(uri, api_key=key)
        try:
            return from_context(context, node_path_parts=node_path_parts)
        except BaseException:
            context.close()  # e.g. a wrong API key: do not leak the connection
            raise


def close_catalog(client: Any) -> None:
    """Close a client's connection (for an embedded catalog: its in-process server)."""
    client.context.close()


def make_writer(
    client: Any,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    journal: str | os.PathLike | bool | None = None,
    fsync: str = "interval",
    flush_interval: float = 1.0,
    stop_timeout: float = 60.0,
    **kwargs: Any,
) -> Any:
    """Build the RunEngine callback that stores documents in ``client``, safely.

    Subscribe it to a RunEngine: ``RE.subscribe(make_writer(client))``. By
    default it is a :class:`~autoscope.storage.writer.SafeWriter`: every
    document is appended to a local journal and flushed before the plan's next
    step (:mod:`autoscope.storage.journal`), and written to Tiled by a
    background worker, so Tiled's latency never slows a step and an outage
    loses nothing (see ``docs/data-safety.md``).

    Parameters
    ----------
    client : tiled client
        From :func:`open_catalog`.
    batch_size : int
        Events of a run written to Tiled at most together (the worker also
        writes whatever waited ``flush_interval`` s). Default 50: one write of
        two streams costs ~0.23 s embedded and ~0.31 s over HTTP (2 shared
        cores, a DKL-like run), now in the worker's thread, not the plan's.
    journal : str, path-like, bool or None
        Journal directory; ``None`` or ``True``: the default
        (:func:`autoscope.storage.journal.default_journal_dir`, i.e.
        ``$AUTOSCOPE_JOURNAL`` or ``~/.local/state/autoscope/journal``);
        ``False``: no journal and no worker — a plain ``TiledWriter`` on the
        RunEngine's thread (a crash or an outage loses the run).
    fsync : {"interval", "document", "run"}
        When journal documents are forced to disk (:mod:`~autoscope.storage.journal`):
        start and stop at once, the rest within 1 s by the worker (default);
        every document before the next step (≈ 6–10 ms each here); start and stop.
    flush_interval : float
        Seconds an event waits at most before it is written to Tiled.
    stop_timeout : float
        Seconds the stop document waits for its run to be in Tiled.
    **kwargs
        ``max_array_size`` (default 0 here: every array as zarr; arrays of ≤ 16
        elements would otherwise go to the SQL table, which rejects them);
        with ``journal=False``, the rest goes to ``TiledWriter``.

    Returns
    -------
    SafeWriter or bluesky_tiled_plugins.TiledWriter

    Raises
    ------
    ValueError
        If ``batch_size`` is not a positive int, ``backup_directory`` is given
        (the journal replaces it: pass ``journal=DIR``), or another keyword is
        unknown while the journal is on.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputDataError(f"batch_size must be a positive int, got {batch_size!r}")
    if "backup_directory" in kwargs:
        raise InputDataError(
            "backup_directory is replaced by the journal, which keeps arrays exactly: "
            "pass journal=DIR (see docs/data-safety.md)"
        )
    kwargs.setdefault("max_array_size", 0)
    if journal is False:
        from bluesky_tiled_plugins import TiledWriter

        return TiledWriter(client, batch_size=batch_size, **kwargs)
    max_array_size = kwargs.pop("max_array_size")
    if kwargs:
        raise InputDataError(f"unknown keyword(s) for the safe writer: {sorted(kwargs)}")
    directory = None if journal is None or journal is True else journal
    log = Journal(directory, destination=_destination(client), fsync=fsync, close_on_stop=False)
    return SafeWriter(
        client,
        log,
        batch_size=batch_size,
        flush_interval=flush_interval,
        stop_timeout=stop_timeout,
        max_array_size=max_array_size,
    )


def _destination(client: Any) -> str:
    """Where a client writes: its catalog directory (embedded) or its URI."""
    directory = getattr(client, "_autoscope_directory", None)
    return str(directory) if directory else str(getattr(client, "uri", ""))
