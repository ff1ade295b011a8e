"""Reading a stored run through the Tiled client: streams as plain arrays, axis, steering rows.

The pieces :func:`autoscope.trace.load` is made of: find the run (:func:`resolve_run`),
read one stream's columns whether written inline or as array nodes (:func:`read_stream`,
public as :func:`autoscope.trace.read_stream`), pick a column by key or suffix
(:func:`find_key`), the spectrometer axis from the ``primary`` descriptor
(:func:`spectrometer_axis`) and the steering streams as records (:func:`steering_rows`).
Duck-typed on the Tiled client: no Tiled import.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from autoscope.errors import InputDataError

__all__ = [
    "find_key",
    "plain_item",
    "read_stream",
    "resolve_run",
    "spectrometer_axis",
    "steering_rows",
]


def resolve_run(run_or_uid: Any, catalog: Any) -> Any:
    """Return the run client of a uid or a negative index (-1: latest) in ``catalog``."""
    if isinstance(run_or_uid, bool) or not isinstance(run_or_uid, str | int):
        raise InputDataError(
            f"expected a run client, a uid or a negative index, got {run_or_uid!r}"
        )
    if isinstance(run_or_uid, int):
        if run_or_uid >= 0:
            raise InputDataError(
                f"an int run index must be negative (-1: latest), got {run_or_uid}"
            )
        if len(catalog) < -run_or_uid:
            raise InputDataError(
                f"the catalog holds {len(catalog)} runs, no run at index {run_or_uid}"
            )
        return catalog.values()[run_or_uid]
    try:
        return catalog[run_or_uid]
    except KeyError:
        raise InputDataError(f"no run with uid {run_or_uid!r} in the catalog") from None


def read_stream(run: Any, name: str) -> dict[str, np.ndarray]:
    """Read every data key of one stream as ``{key: array}`` (events along the first axis).

    Also returns ``"seq_num"`` and ``"time"``. An absent stream gives ``{}``.
    Arrays written inline (table columns) and as array nodes are both handled.
    """
    if name not in run:
        return {}
    stream = run[name]
    base = getattr(stream, "base", None)
    if base is None:  # not a v3 composite stream: fall back to xarray
        ds = stream.read()
        table = {k: np.asarray(v.values) for k, v in ds.data_vars.items()}
        table["time"] = np.asarray(ds["time"].values)
        return table
    out: dict[str, np.ndarray] = {}
    for key, node in base.items():  # one listing request, then one read per node
        if key == "internal":
            table = node.read()
            for col in table.columns:
                if not col.startswith("ts_"):
                    out[col] = _column(table[col])
        else:
            out[key] = np.asarray(node.read())
    if "seq_num" in out:
        order = np.argsort(out["seq_num"], kind="stable")
        if not np.array_equal(order, np.arange(order.size)):
            out = {k: v[order] for k, v in out.items()}
    return out


def _column(series: Any) -> np.ndarray:
    if series.dtype == object or str(series.dtype).startswith("list"):
        values = [np.asarray(v) for v in series.tolist()]
        return np.stack(values) if values else np.empty((0,))
    if str(series.dtype).startswith("string") or series.dtype.kind in "OSU":
        return np.asarray(series.astype(str).tolist(), dtype=str)
    return series.to_numpy()


def find_key(data: dict[str, np.ndarray], key: str | None, suffix: str) -> np.ndarray | None:
    """Return ``data[key]``, else the one column ending in ``suffix`` (None: none or several)."""
    if key and key in data:
        return data[key]
    hits = [k for k in data if k.endswith(suffix)]
    return data[hits[0]] if len(hits) == 1 else None


def steering_rows(data: dict[str, np.ndarray], prefix: str) -> list[dict[str, Any]]:
    """Return a steering stream's events as dicts: prefix stripped, JSON decoded, no repeats."""
    rows, seen = [], set()
    for i in range(len(data.get("seq_num", ()))):
        row = {k.removeprefix(prefix): plain_item(v[i]) for k, v in data.items() if k != "seq_num"}
        for key in ("what", "old", "new"):
            if isinstance(row.get(key), str):
                try:
                    row[key] = json.loads(row[key])
                except json.JSONDecodeError:
                    pass
        if prefix == "intervention_":
            row["kind"], row["params"] = row.pop("action", None), row.pop("what", None)
            if row.get("seq") in seen:  # a repeated event (never expected; be safe)
                continue
            seen.add(row.get("seq"))
        else:
            row["vote"] = row.pop("value", -1)
        rows.append(row)
    return rows


def plain_item(v: Any) -> Any:
    """Return a numpy scalar or array as a plain Python value (lists for arrays)."""
    v = v.item() if isinstance(v, np.generic) else v
    return v.tolist() if isinstance(v, np.ndarray) else v


def spectrometer_axis(run: Any) -> np.ndarray:
    """Return the spectrometer axis from the ``primary`` descriptor's configuration."""
    if "primary" not in run:
        return np.empty(0)
    for desc in run["primary"].descriptors:
        for obj in (desc.get("configuration") or {}).values():
            for k, v in (obj.get("data") or {}).items():
                if k.endswith("_axis"):
                    return np.asarray(v, dtype=float)
    return np.empty(0)
