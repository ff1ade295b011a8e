"""API keys handled as a security review asks: checked, masked, 0600, in headers, scrubbed.

The list: no key, wrong key (tests/storage/test_io_errors.py, against a real server), short key,
key in a URL refused by the client and scrubbed from the server's access log, file modes of the
config and of a generated key, a loud warning for a plain-HTTP non-loopback bind, and one
banner that shows the key masked (Tiled's own banner printed a different, useless key).
"""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from autoscope.cli import main
from autoscope.errors import InputDataError
from autoscope.storage import close_catalog, open_catalog
from autoscope.storage.server import (
    MIN_KEY_LENGTH,
    ScrubApiKey,
    bind_warning,
    check_api_key,
    check_database,
    mask_key,
    server_config,
)

KEY = "autoscopeSecurityKey0123456789"


@pytest.mark.parametrize(
    ("key", "match"),
    [(None, "missing"), ("", "missing"), ("a" * (MIN_KEY_LENGTH - 1), "at least 16 characters"),
     ("with space in it!!", "letters and digits"), ("schlüsselschlüssel", "letters and digits")],
)  # fmt: skip
def test_bad_keys_are_refused(key, match):
    with pytest.raises(InputDataError, match=match):
        check_api_key(key)
    assert check_api_key("a" * MIN_KEY_LENGTH) == "a" * MIN_KEY_LENGTH


def test_short_key_on_the_command_line_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["serve", "--catalog", str(tmp_path), "--api-key", "abc", "--config-only"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "at least 16 characters, got 3" in err and not (tmp_path / "config.yml").exists()


def test_mask_never_shows_the_key():
    assert mask_key(KEY) == "auto… (30 chars)" and KEY[4:] not in mask_key(KEY)


def test_config_and_generated_key_are_owner_only(tmp_path, capsys, monkeypatch):
    path = server_config(tmp_path / "a", KEY)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)  # an existing, world-readable file is tightened when rewritten
    assert server_config(tmp_path / "a", KEY).stat().st_mode & 0o777 == 0o600
    monkeypatch.delenv("TILED_API_KEY", raising=False)
    assert main(["serve", "--catalog", str(tmp_path / "b"), "--config-only"]) == 0
    key_file = tmp_path / "b" / "api_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text().strip() not in capsys.readouterr().out


def test_key_in_the_url_is_refused_by_the_client():
    with pytest.raises(InputDataError, match=r"carries api_key=.*--api-key"):
        open_catalog(f"http://127.0.0.1:1/?api_key={KEY}")
    with pytest.raises(InputDataError) as info:
        open_catalog(f"http://127.0.0.1:1/?API_KEY={KEY}")
    assert KEY not in str(info.value)


def test_access_log_filter_scrubs_query_keys():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", f"/api/v1/?api_key={KEY}&x=1", "1.1", 200),
                               None)  # fmt: skip
    assert ScrubApiKey().filter(record)
    assert KEY not in record.getMessage() and "api_key=***&x=1" in record.getMessage()


@pytest.mark.parametrize(
    ("host", "tls", "warns"),
    [("127.0.0.1", False, False), ("localhost", False, False), ("::1", False, False),
     ("0.0.0.0", False, True), ("192.168.1.5", False, True), ("0.0.0.0", True, False)],
)  # fmt: skip
def test_plain_http_bind_beyond_loopback_warns(host, tls, warns):
    warning = bind_warning(host, tls)
    assert (warning is not None) is warns
    if warns:
        assert warning.startswith("WARNING") and "unencrypted" in warning


def test_serve_warns_on_stderr_for_a_public_bind(tmp_path, capsys):
    assert main(["serve", "--catalog", str(tmp_path), "--api-key", KEY, "--host", "0.0.0.0",
                 "--config-only"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "WARNING: serving on 0.0.0.0 over plain HTTP" in captured.err
    assert KEY not in captured.out + captured.err


def test_database_uri_is_checked_and_its_password_never_echoed():
    assert check_database("postgres://u@h:5432/db") == "postgresql://u@h:5432/db"
    with pytest.raises(InputDataError) as info:
        check_database("mysql://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)


@pytest.mark.server
def test_running_server_never_logs_or_prints_the_key(tmp_path, autoscope_serve):
    """A real ``autoscope serve``: its banner, its access log, and a client that uses headers."""
    proc, uri, log_path = autoscope_serve(tmp_path / "cat", KEY)
    client = open_catalog(uri, api_key=KEY)  # the key goes in the Authorization header
    try:
        assert list(client) == []
    finally:
        close_catalog(client)
    with httpx.Client(trust_env=False) as http:  # a browser-style URL with the key
        assert http.get(f"{uri}/api/v1/metadata/", params={"api_key": KEY}).status_code == 200
    with httpx.Client(trust_env=False) as http:  # (a fresh client: no cookie from above)
        assert http.get(f"{uri}/api/v1/metadata/").status_code == 401
    log = log_path.read_text()
    assert KEY not in log and "api_key=***" in log
    assert "?api_key=" not in log.replace("api_key=***", "")  # no other key, no other banner
    assert re.search(r"Tiled server on http://127\.0\.0\.1:\d+", log)
