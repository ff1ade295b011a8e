"""Catalog failures as one line: what went wrong with which catalog, and what to do.

Opening a catalog touches the file system (an embedded catalog) or the network (a
Tiled server); the libraries underneath raise their own exceptions with long
tracebacks (``httpx.ConnectError`` after ~25 s of retries, tiled's ``ClientError``,
``RuntimeError`` for a missing key, ``sqlite3.OperationalError``, ...).
:func:`probe_server` fails fast before Tiled's retries start, and
:func:`catalog_errors` turns the rest into :class:`~autoscope.errors.StorageError`
with a message of one line, which the command line prints without a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from autoscope.errors import StorageError

__all__ = ["catalog_errors", "check_directory", "describe", "probe_server", "scrub_uri"]

#: Seconds to wait for a server to answer the probe.
PROBE_TIMEOUT = 5.0


def scrub_uri(uri: str) -> str:
    """Return ``uri`` without credentials or query string (safe to print)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def describe(exc: BaseException, where: str) -> str | None:
    """Return the one-line message for a known catalog failure, else ``None``.

    Parameters
    ----------
    exc : BaseException
        What the libraries raised.
    where : str
        The catalog, as the user named it (a path or a scrubbed URI).
    """
    import httpx

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status == 401 or "requires API key authentication" in str(exc):
        if "requires API key" in str(exc):
            return (
                f"the Tiled server at {where} needs an API key: "
                f"give --api-key or set $TILED_API_KEY"
            )
        return f"the Tiled server at {where} refused the API key (401): check --api-key"
    if status == 403:
        return f"the Tiled server at {where} does not allow this with that key (403)"
    if status is not None:
        return f"the server at {where} answered {status}: is it a Tiled server?"
    if isinstance(exc, httpx.ConnectError):
        reason = _one_line(exc) or "connection failed"
        if "refused" in reason.lower():
            return f"no Tiled server at {where} (connection refused): start it with autoscope serve"
        return f"cannot reach the Tiled server at {where} ({reason})"
    if isinstance(exc, httpx.TimeoutException):
        return f"the Tiled server at {where} did not answer within {PROBE_TIMEOUT:g} s"
    if isinstance(exc, httpx.TransportError):
        return f"cannot reach the Tiled server at {where} ({_one_line(exc) or type(exc).__name__})"
    if isinstance(exc, PermissionError):
        return f"cannot write the catalog {where}: permission denied ({exc.filename or where})"
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return f"the catalog path {where} is (or lies under) a file, not a directory"
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.ENOSPC, errno.EACCES):
        return f"cannot write the catalog {where}: {os.strerror(exc.errno)}"
    if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("sqlalchemy"):
        return f"cannot open the catalog database in {where}: {_one_line(exc)[:200]}"
    return None


@contextlib.contextmanager
def catalog_errors(where: str) -> Iterator[None]:
    """Re-raise known catalog failures inside the block as one-line :class:`StorageError`."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        message = describe(exc, where)
        if message is None:
            raise
        raise StorageError(message) from exc


def probe_server(uri: str) -> None:
    """Ask a Tiled server for its API description once, without retries.

    Raises
    ------
    StorageError
        Nothing listening, host unknown or unreachable, no answer within
        :data:`PROBE_TIMEOUT`, or not a Tiled server.
    """
    import httpx

    parts = urlsplit(uri)
    base = f"{parts.scheme}://{parts.netloc}"
    with catalog_errors(scrub_uri(uri)):
        with httpx.Client(timeout=PROBE_TIMEOUT) as http:
            response = http.get(f"{base}/api/v1/")
        if response.status_code != 200 or "api_version" not in response.text:
            raise StorageError(
                f"the server at {scrub_uri(uri)} answered {response.status_code}: "
                f"is it a Tiled server?"
            )


def check_directory(directory: Path, *, create: bool) -> None:
    """Check that ``directory`` can hold an embedded catalog before anything is written.

    Parameters
    ----------
    directory : Path
    create : bool
        Whether a missing catalog may be created; if not, ``directory`` must
        already hold ``catalog.db``.

    Raises
    ------
    StorageError
        A file in the way, no catalog where one must exist, or no write permission.
    """
    if directory.exists() and not directory.is_dir():
        raise StorageError(f"the catalog path {directory} is a file, not a directory")
    if not create and not (directory / "catalog.db").is_file():
        raise StorageError(f"no catalog at {directory} (no catalog.db there); check the path")
    parent = directory
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise StorageError(f"the catalog path {directory} lies under the file {parent}")
    target = directory / "catalog.db" if (directory / "catalog.db").exists() else parent
    if not os.access(target, os.W_OK):
        raise StorageError(f"cannot write the catalog {directory}: permission denied ({target})")
