"""Markdown cells and tables shared by the benchmark's reports."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["cell", "md_table"]


def cell(x: Any, fmt: str = "{:.2f}") -> str:
    """Format a number for a table cell; ``—`` for a missing or non-finite one."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return fmt.format(x)


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Return a markdown table: the header, its rule and one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines
