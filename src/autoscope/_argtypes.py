"""Argument types shared by the ``autoscope`` subcommands (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse
import json

__all__ = ["nonnegative_int", "positive_int", "spec_arg"]


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Parse an integer >= 1 (argparse type)."""
    return _int_at_least(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """Parse an integer >= 0 (argparse type)."""
    return _int_at_least(text, 0, "an integer >= 0")


def spec_arg(text: str) -> str | dict:
    """Parse a name, or a JSON ``{"name": ..., "params": {...}}`` spec (argparse type)."""
    text = text.strip()
    if not text.startswith("{"):
        if not text:
            raise argparse.ArgumentTypeError("expected a name or a JSON spec, got an empty string")
        return text
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg}): {text!r}") from None
    if not isinstance(spec, dict) or "name" not in spec:
        raise argparse.ArgumentTypeError(
            f'a JSON spec is {{"name": ..., "params": {{...}}}}, got {text}'
        )
    return spec
