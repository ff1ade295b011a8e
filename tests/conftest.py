"""Shared fixtures: a RunEngine that owns and closes its event loop."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture
def RE():
    """A fresh RunEngine with its own event loop, closed after the test."""
    from bluesky import RunEngine

    loop = asyncio.new_event_loop()
    engine = RunEngine({}, loop=loop, call_returns_result=False)
    yield engine
    if engine.state != "idle":
        engine.halt()
    engine._th.join(timeout=5) if hasattr(engine, "_th") else None
    loop.call_soon_threadsafe(loop.stop)
    loop.close() if not loop.is_running() else None
