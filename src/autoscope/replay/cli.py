"""``autoscope replay``: the post-hoc analyses of one stored run, written as figures and a page.

``autoscope replay UID [--scalarizer S] [--policy P] [--model M] [--catalog DIR |
--tiled-uri URI --api-key K] [--out DIR]`` loads the run from Tiled, replays it with
the counterfactual specs (none: the run's own, an exactness check), retraces it,
embeds its patches, ranks its image channels (multi-channel images) and writes
``index.html``, the PNG panels, ``summary.json`` and ``decisions.csv`` to ``DIR``.
:func:`replay_report` does the same from Python (a trace in, the page's path out).

The main ``autoscope`` parser registers the subcommand with
``COMMANDS["replay"] = (HELP, add_replay_arguments, run_replay)``, or
:func:`add_replay_parser` adds it to any ``argparse`` sub-parsers object.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from autoscope._argtypes import spec_arg

__all__ = ["HELP", "add_replay_arguments", "add_replay_parser", "replay_report", "run_replay"]

HELP = "replay a stored run: counterfactual scalarizer/policy, retrace, feature space"


def _run_id(text: str) -> str | int:
    try:
        value = int(text)
    except ValueError:
        return text
    if value >= 0:
        raise argparse.ArgumentTypeError(
            f"a run is a uid or a negative index (-1: latest), got {text}"
        )
    return value


def add_replay_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``replay`` options to a parser."""
    p.add_argument(
        "uid", type=_run_id, help="run uid, or -1 for the latest run (-2 the one before, ...)"
    )
    p.add_argument(
        "--scalarizer",
        type=spec_arg,
        default=None,
        help="counterfactual scalarizer: a name or a JSON spec (default: the run's)",
    )
    p.add_argument(
        "--policy",
        type=spec_arg,
        default=None,
        help="counterfactual policy: a name or a JSON spec (default: the run's)",
    )
    p.add_argument(
        "--model",
        type=spec_arg,
        default=None,
        help="counterfactual model: a name or a JSON spec (default: the run's)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--catalog", default=None, help="embedded catalog directory")
    where.add_argument("--tiled-uri", default=None, help="Tiled server URI (http[s]://...)")
    p.add_argument("--api-key", default=None, help="Tiled API key (default $TILED_API_KEY)")
    p.add_argument(
        "--out", default=None, help="output directory (default ./autoscope-replay/<uid8>)"
    )
    p.add_argument("--feature-space", choices=("pca", "vae", "none"), default="pca",
                   help="global feature-space embedding (default pca)")  # fmt: skip


def add_replay_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``replay`` subcommand to an ``argparse`` sub-parsers object."""
    p = subparsers.add_parser("replay", help=HELP, description=HELP)
    add_replay_arguments(p)
    p.set_defaults(_run=run_replay, _parser=p)
    return p


def run_replay(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Run ``autoscope replay`` from parsed arguments; print the summary; return the exit code."""
    from autoscope import storage, trace

    if args.api_key and not args.tiled_uri:
        msg = "--api-key needs --tiled-uri"
        if parser is not None:
            parser.error(msg)
        raise SystemExit(msg)
    # a reader never creates a catalog: a mistyped --catalog is an error, not an empty catalog
    client = storage.open_catalog(
        args.tiled_uri or args.catalog, api_key=args.api_key, create=False
    )
    try:
        tr = trace.load(args.uid, catalog=client)
    finally:
        storage.close_catalog(client)
    out = Path(args.out) if args.out else Path("autoscope-replay") / tr.uid[:8]
    method = None if args.feature_space == "none" else args.feature_space
    index = replay_report(tr, out, scalarizer=args.scalarizer, policy=args.policy,
                          model=args.model, feature_method=method)  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    cf = summary["counterfactual"]
    print(f"run                : {tr.uid}")
    print(f"counterfactual     : scalarizer {cf['scalarizer']} | policy {cf['policy']}")
    print(f"agreement          : {cf['agreement']:.3f} over {cf['n_decisions']} decisions")
    print(f"first divergence   : {cf['first_divergence']}")
    print(f"report             : {index}")
    return 0


def replay_report(
    trace: Any,
    out_dir: Any,
    *,
    scalarizer: Any = None,
    policy: Any = None,
    model: Any = None,
    feature_method: str | None = "pca",
) -> Path:
    """Run every replay analysis on a trace and write figures, tables and ``index.html``.

    Parameters
    ----------
    trace : ExperimentTrace
    out_dir : str or path
        Created if needed.
    scalarizer, policy, model : str or dict, optional
        Counterfactual specs (default: the run's own).
    feature_method : {"pca", "vae"} or None
        Feature-space embedding (``None``: skip).

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.
    """
    from autoscope.replay import best_channel, counterfactual, feature_space, retrace
    from autoscope.replay.figures import best_channel_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cf = counterfactual(trace, scalarizer, policy, model=model)
    summary: dict[str, Any] = {"uid": trace.uid, "counterfactual": cf.summary()}
    panels = {"counterfactual": cf.figure(trace)}
    own = cf.recommender if cf.own else None
    rt = retrace(trace, recommender=own)
    summary["retrace"] = rt.summary()
    panels["retrace"] = rt.figure()
    if feature_method:
        fs = feature_space(trace, feature_method, recommender=own)
        panels["feature_space"] = fs.figure()
    rows = []
    if np.asarray(trace.image).ndim == 3 and np.isfinite(trace.values).sum() >= 4:
        rows = best_channel(trace)
        summary["best_channel"] = [{k: (list(v) if isinstance(v, tuple) else v)
                                    for k, v in r.items()} for r in rows]  # fmt: skip
        panels["best_channel"] = best_channel_figure(rows)
    for stem, fig in panels.items():
        fig.savefig(out / f"{stem}.png", dpi=90)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    with open(out / "decisions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["decision", "step", "actual_id", "counterfactual_id", "acq_value",
                    "actual_rank", "surprise"])  # fmt: skip
        surprise = dict(zip(rt.steps.tolist(), rt.surprise.tolist(), strict=True))
        for t in range(cf.n_decisions):
            s = int(cf.steps[t])
            w.writerow([t, s, int(cf.actual_ids[t]), cf.chosen_ids[t], cf.acq_values[t],
                        int(cf.actual_rank[t]), surprise.get(s)])  # fmt: skip
    index = out / "index.html"
    index.write_text(_html(summary, list(panels)))
    return index


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _html(summary: dict[str, Any], stems: list[str]) -> str:
    def table(d: dict[str, Any]) -> str:
        cell = lambda v: html.escape(json.dumps(v, default=_json_default))  # noqa: E731
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{cell(v)}</td></tr>" for k, v in d.items()
        )
        return f"<table>{rows}</table>"

    parts = [f"<h1>Replay of run {html.escape(summary['uid'])}</h1>"]
    parts.append("<h2>Counterfactual</h2>" + table(summary["counterfactual"]))
    parts.append("<h2>Retrace</h2>" + table(summary["retrace"]))
    if summary.get("best_channel"):
        head = "<tr><th>rank</th><th>channels</th><th>k-fold NRMSE</th><th>log ML / pt</th></tr>"
        body = "".join(
            f"<tr><td>{r['rank']}</td><td>{html.escape(' + '.join(r['channels']))}</td>"
            f"<td>{r['kfold_nrmse']:.3f}</td><td>{r['log_ml']:.3f}</td></tr>"
            for r in summary["best_channel"]
        )
        parts.append(f"<h2>Best channel</h2><table>{head}{body}</table>")
    parts += [f'<h2>{s.replace("_", " ")}</h2><img src="{s}.png" alt="{s}">' for s in stems]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "td,th{padding:2px 8px;text-align:left}"
    )
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>autoscope replay</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")  # fmt: skip
