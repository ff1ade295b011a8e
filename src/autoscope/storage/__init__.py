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
from autoscope.storage.server import EXPORTER, SPECS, server_config

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "EXPORTER",
    "close_catalog",
    "default_catalog_dir",
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
        return from_context(context)
    except BaseException:
        context.close()
        raise


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


def make_writer(client: Any, batch_size: int = DEFAULT_BATCH_SIZE, **kwargs: Any) -> Any:
    """Build a ``bluesky_tiled_plugins.TiledWriter`` that stores documents in ``client``.

    Subscribe it to a RunEngine: ``RE.subscribe(make_writer(client))``.

    Parameters
    ----------
    client : tiled client
        From :func:`open_catalog`.
    batch_size : int
        Events per stream collected before one write; the rest are written at
        the stop document. Default 50, from measurements (2 shared cores, a DKL-like
        run of 100 steps, each one ``primary`` event with an (128,) spectrum and 6
        scalars plus one ``decisions`` event with three 64 x 64 maps and 8
        scalars): one write of both streams costs ~0.23 s embedded and ~0.31 s
        over HTTP (i.e. ``batch_size=1`` adds 230-310 ms to every step), and a run
        costs ~0.9 s once (nodes created and closed). With 50 the writer adds
        ~5-6 ms per step plus the fixed cost, ≤ 10 % of a run whose steps take
        ≥ 0.1 s (the design target for a decision is ≤ 0.2 s), while rows become
        visible in the catalog every 50 events of a stream during the run. 20
        would cost ~12-16 ms per step; TiledWriter's own default (10000) shows
        nothing until the run ends.
    **kwargs
        Passed to ``TiledWriter`` (e.g. ``backup_directory``). ``max_array_size``
        defaults to 0 here: every array is stored as zarr, because arrays of
        ≤ 16 elements would otherwise go to the SQL table, which rejects them
        (``Unsupported PyArrow type: list<item: double>``) and aborts the run.

    Returns
    -------
    bluesky_tiled_plugins.TiledWriter

    Raises
    ------
    ValueError
        If ``batch_size`` is not a positive int.

    Notes
    -----
    An exception raised inside the writer aborts the run (callbacks run in the
    RunEngine's thread).
    """
    from bluesky_tiled_plugins import TiledWriter

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputDataError(f"batch_size must be a positive int, got {batch_size!r}")
    # Arrays of <= 16 elements would go to the SQL table as list columns, which
    # tiled's SQL storage rejects ("Unsupported PyArrow type: list<item: double>")
    # and the run aborts; max_array_size=0 writes every array as zarr.
    kwargs.setdefault("max_array_size", 0)
    return TiledWriter(client, batch_size=batch_size, **kwargs)
