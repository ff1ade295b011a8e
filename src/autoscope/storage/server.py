"""A Tiled server for a catalog of Bluesky runs: its config file, its API key, and running it.

:func:`server_config` writes the ``tiled serve config`` file (mode 0600: it holds
the key); :func:`serve` runs the server from that file in this process, the way
``tiled serve config`` does, but with what a facility's security review asks for:

- the key is checked (:func:`check_api_key`: ASCII letters and digits, at least
  :data:`MIN_KEY_LENGTH` characters) and never printed in full (:func:`mask_key`);
- no banner with another key: Tiled's ``tiled serve`` prints a URL with a random key
  from its own settings, which the server then refuses (401);
- ``api_key=...`` in a request's query string is replaced by ``api_key=***`` in the
  access log (:class:`ScrubApiKey`); autoscope's clients send the key in the
  ``Authorization`` header and refuse a URI that carries one;
- a bind to a non-loopback address without TLS warns loudly on stderr
  (:func:`bind_warning`): the key would cross the network in clear text.

The catalog database is SQLite in the catalog directory by default, or PostgreSQL
(``database="postgresql://user@host:port/dbname"``), which Tiled reaches through
``asyncpg`` (catalog) and ADBC (event tables).
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from autoscope.errors import InputDataError

__all__ = [
    "MIN_KEY_LENGTH",
    "ScrubApiKey",
    "bind_warning",
    "check_api_key",
    "check_database",
    "mask_key",
    "probe_database",
    "serve",
    "server_config",
]

#: The shortest API key accepted (16 characters of [A-Za-z0-9]: ~95 bits when random).
MIN_KEY_LENGTH = 16
EXPORTER = "bluesky_tiled_plugins.exporters:json_seq_exporter"
SPECS = [{"name": "CatalogOfBlueskyRuns", "version": "3.0"}]
_QUERY_KEY = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)


def check_api_key(api_key: Any) -> str:
    """Return ``api_key`` if it is ASCII letters/digits of at least :data:`MIN_KEY_LENGTH`.

    Raises
    ------
    InputDataError
        Naming what is wrong (the key itself is not repeated in the message).
    """
    if not isinstance(api_key, str) or not api_key:
        raise InputDataError("the API key is missing: give --api-key or set $TILED_API_KEY")
    if not (api_key.isascii() and api_key.isalnum()):
        raise InputDataError("api_key must be ASCII letters and digits only")
    if len(api_key) < MIN_KEY_LENGTH:
        raise InputDataError(
            f"api_key must be at least {MIN_KEY_LENGTH} characters, got {len(api_key)}; "
            f"leave it out for a random 32-character key"
        )
    return api_key


def mask_key(api_key: str) -> str:
    """Show a key as its first 4 characters, ``…`` and its length, e.g. ``'ab12… (32 chars)'``."""
    return f"{api_key[:4]}… ({len(api_key)} chars)"


def check_database(database: Any) -> str | None:
    """Validate a catalog database URI: ``None`` (SQLite in the directory) or PostgreSQL.

    Returns
    -------
    str or None
        The URI with the plain ``postgresql://`` scheme (Tiled picks its drivers).

    Raises
    ------
    InputDataError
        If the URI is not ``postgresql://`` (or ``postgres://``, ``postgresql+asyncpg://``)
        or names no database.
    """
    if database is None:
        return None
    text = str(database)
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("postgresql", "postgres", "postgresql+asyncpg") or not rest:
        raise InputDataError(
            f"--database must be a postgresql://user@host:port/dbname URI "
            f"(SQLite is the default), got {text.split('@')[-1]!r}"
        )
    parts = urlsplit("postgresql://" + rest)
    if not parts.hostname or not parts.path.strip("/"):
        raise InputDataError(
            "--database must name a host and a database: postgresql://user@host:port/dbname"
        )
    return "postgresql://" + rest


def probe_database(database: str, timeout: float = 10.0) -> None:
    """Connect once to a PostgreSQL catalog database, so that a failure is one line.

    Raises
    ------
    StorageError
        The server cannot be reached, refuses the login, or the database does not exist;
        the message names host, port and database, never the password.
    """
    import asyncio

    from autoscope.errors import StorageError

    try:
        import asyncpg
    except ImportError:
        raise StorageError("PostgreSQL catalogs need asyncpg: pip install asyncpg") from None
    parts = urlsplit(check_database(database) or "")
    where = f"{parts.hostname}:{parts.port or 5432}{parts.path}"

    async def connect() -> None:
        conn = await asyncpg.connect(database, timeout=timeout)
        await conn.close()

    try:
        asyncio.run(connect())
    except (TimeoutError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise StorageError(f"cannot reach the PostgreSQL database {where} ({reason})") from None
    except asyncpg.PostgresError as exc:
        reason = " ".join(str(exc).split())
        raise StorageError(f"the PostgreSQL database {where} refused: {reason}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_warning(host: str, tls: bool) -> str | None:
    """Return the warning for a non-loopback bind without TLS, else ``None``."""
    if tls or _is_loopback(host):
        return None
    return (
        f"WARNING: serving on {host} over plain HTTP: the API key and every run cross the "
        f"network unencrypted. Use --tls-cert/--tls-key (or a TLS reverse proxy) outside a "
        f"trusted network."
    )


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), also if it existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def server_config(
    directory: str | os.PathLike,
    api_key: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    database: str | None = None,
    filename: str = "config.yml",
) -> Path:
    """Write a ``tiled serve config`` file for a server over a catalog directory.

    The server has one API key (``single_user_api_key``; anonymous access off),
    the ``CatalogOfBlueskyRuns`` spec, a catalog database created on first start
    (SQLite in ``directory``, or PostgreSQL), a writable data directory and SQL
    event tables (in the same database engine), and the json-seq exporter so that
    ``run.documents()`` works. The file is written with mode 0600. Start it with
    ``autoscope serve`` (or ``tiled serve config <path>``); connect with
    ``open_catalog(f"http://{host}:{port}", api_key)``. A SQLite catalog directory
    can also be opened embedded with :func:`~autoscope.storage.open_catalog` when no
    server runs.

    Parameters
    ----------
    directory : str or path-like
        Catalog directory (created if missing): the config file, ``data/`` and,
        for SQLite, ``catalog.db`` and ``tabular.db``.
    api_key : str, optional
        ASCII letters and digits, at least :data:`MIN_KEY_LENGTH` characters; a
        random 32-hex-digit one when omitted.
    host, port : str, int
        Where the server listens.
    database : str, optional
        ``postgresql://user@host:port/dbname``: catalog and event tables in
        PostgreSQL (the database must exist). Default: SQLite in ``directory``.
    filename : str
        Name of the config file inside ``directory``.

    Returns
    -------
    pathlib.Path
        The config file.

    Raises
    ------
    InputDataError
        If ``api_key`` is too short or not alphanumeric, ``port`` is not in
        1..65535, or ``database`` is not a PostgreSQL URI.
    """
    import yaml

    api_key = secrets.token_hex(16) if api_key is None else check_api_key(api_key)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InputDataError(f"port must be an int in 1..65535, got {port!r}")
    database = check_database(database)
    directory = Path(directory).expanduser().resolve()
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    uri = database or f"sqlite:///{directory / 'catalog.db'}"
    tabular = database or f"sqlite:///{directory / 'tabular.db'}"
    config = {
        "authentication": {"single_user_api_key": api_key, "allow_anonymous_access": False},
        "catalog": {
            "uri": uri,
            "init_if_not_exists": True,
            "writable_storage": [str(data), tabular],
            "specs": copy.deepcopy(SPECS),
        },
        "media_types": {"BlueskyRun": {"application/json-seq": EXPORTER}},
        "uvicorn": {"host": host, "port": port},
    }
    path = directory / filename
    _write_private(path, yaml.safe_dump(config, sort_keys=False))
    return path


class ScrubApiKey(logging.Filter):
    """A logging filter that replaces ``api_key=<key>`` in a record by ``api_key=***``."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: D102 (logging.Filter API)
        if record.args:
            record.args = tuple(
                _QUERY_KEY.sub(r"\1***", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str):
            record.msg = _QUERY_KEY.sub(r"\1***", record.msg)
        return True


def _log_config() -> dict[str, Any]:
    from tiled.server.logging_config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["scrub_api_key"] = {"()": ScrubApiKey}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("scrub_api_key")
    return config


def serve(
    config_path: str | os.PathLike,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    stream: Any = None,
) -> None:
    """Run the Tiled server of a :func:`server_config` file until it is stopped (blocking).

    Parameters
    ----------
    config_path : str or path-like
        The config file.
    tls_cert, tls_key : str, optional
        PEM certificate and private key: serve HTTPS.
    stream : file, optional
        Where the banner and warnings go (default ``sys.stderr``).
    """
    import uvicorn
    from tiled.config import parse_configs
    from tiled.server.app import build_app_from_config

    out = stream or sys.stderr
    parsed = parse_configs(Path(config_path))
    kwargs = dict(parsed.uvicorn)
    host, port = kwargs.get("host", "127.0.0.1"), kwargs.get("port", 8000)
    if (tls_cert is None) != (tls_key is None):
        raise InputDataError("--tls-cert and --tls-key go together")
    tls = tls_cert is not None
    warning = bind_warning(host, tls)
    if warning:
        print(warning, file=out, flush=True)
    if tls:
        kwargs.update(ssl_certfile=str(tls_cert), ssl_keyfile=str(tls_key))
    kwargs["log_config"] = _log_config()
    app = build_app_from_config(parsed)
    scheme = "https" if tls else "http"
    print(f"Tiled server on {scheme}://{host}:{port} (Ctrl-C stops it)", file=out, flush=True)
    uvicorn.run(app, **kwargs)
