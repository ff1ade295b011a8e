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
from typing import TYPE_CHECKING, Any

import numpy as np

from autoscope._argtypes import spec_arg
from autoscope.replay.report_text import replay_rows

if TYPE_CHECKING:
    from autoscope.trace import ExperimentTrace

__all__ = [
    "CAPTIONS",
    "HELP",
    "add_replay_arguments",
    "add_replay_parser",
    "replay_report",
    "run_replay",
]

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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


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
                          model=args.model, feature_method=method,
                          progress=not getattr(args, "no_progress", False))  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    print(f"run    : {tr.uid}")
    section = None
    for sec, label, text in _rows(summary, tr):
        if sec != section:
            print(f"{sec}:")
            section = sec
        print(f"  {label}: {text}")
    print(f"report : {index}")
    return 0


def replay_report(
    trace: ExperimentTrace,
    out_dir: Any,
    *,
    scalarizer: Any = None,
    policy: Any = None,
    model: Any = None,
    feature_method: str | None = "pca",
    progress: bool = False,
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
    progress : bool
        Show a progress bar (tqdm, on stderr) over the analyses; each counts the decisions
        it replays.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.
    """
    from autoscope.replay import best_channel, counterfactual, feature_space, retrace
    from autoscope.replay.figures import best_channel_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = max(len(getattr(trace, "chosen_ids", []) or []), 1)
    multi = np.asarray(trace.image).ndim == 3 and np.isfinite(trace.values).sum() >= 4
    stages = ["counterfactual", "retrace"] + (["feature space"] if feature_method else [])
    stages += ["best channel"] if multi else []
    bar = _bar(progress, n * len(stages))
    bar.set_description("replay: counterfactual (re-deciding every step)")
    cf = counterfactual(trace, scalarizer, policy, model=model)
    bar.update(n)
    summary: dict[str, Any] = {"uid": trace.uid, "counterfactual": cf.summary()}
    panels = {"counterfactual": cf.figure(trace)}
    own = cf.recommender if cf.own else None
    bar.set_description("replay: retrace (the fully trained model)")
    rt = retrace(trace, recommender=own)
    bar.update(n)
    summary["retrace"] = rt.summary()
    panels["retrace"] = rt.figure()
    if feature_method:
        bar.set_description(f"replay: feature space ({feature_method})")
        fs = feature_space(trace, feature_method, recommender=own)
        bar.update(n)
        panels["feature_space"] = fs.figure()
    rows = []
    if multi:
        bar.set_description("replay: best channel")
        rows = best_channel(trace)
        bar.update(n)
        summary["best_channel"] = [{k: (list(v) if isinstance(v, tuple) else v)
                                    for k, v in r.items()} for r in rows]  # fmt: skip
        panels["best_channel"] = best_channel_figure(rows)
    bar.set_description("replay: writing the report")
    bar.close()
    for stem, fig in panels.items():
        fig.savefig(out / f"{stem}.png", dpi=90)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    with open(out / "decisions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["decision", "step", "actual_id", "counterfactual_id", "acq_value",
                    "actual_rank", "surprise_sigma"])  # fmt: skip
        surprise = dict(zip(rt.steps.tolist(), rt.surprise.tolist(), strict=True))
        for t in range(cf.n_decisions):
            s = int(cf.steps[t])
            w.writerow([t, s, int(cf.actual_ids[t]), cf.chosen_ids[t], cf.acq_values[t],
                        int(cf.actual_rank[t]), surprise.get(s)])  # fmt: skip
    index = out / "index.html"
    index.write_text(_html(summary, list(panels), _rows(summary, trace), trace), encoding="utf-8")
    return index


def _bar(enabled: bool, total: int) -> Any:
    """Return a tqdm bar over the replayed decisions (silent when disabled)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="decision", disable=not enabled, leave=False)


def _rows(summary: dict[str, Any], trace: Any) -> list[tuple[str, str, str]]:
    from autoscope.report import run_meta

    meta = run_meta(trace)
    return replay_rows(summary, pixel_size=meta["pixel_size"], pixel_units=meta["pixel_units"],
                       n_candidates=len(np.asarray(trace.candidates)))  # fmt: skip


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


#: what each replay panel shows and how to read it
CAPTIONS = {
    "counterfactual": "Top left: the run's path (orange) and, at each step, where the "
    "counterfactual would have gone instead (cyan crosses). Top right: how the counterfactual "
    "ranked the point the run measured (1 = the same choice). Bottom left: the run's scalar and "
    "the counterfactual scalar along the path, each scaled to 0-1. Bottom right: the "
    "counterfactual model's map after the whole path.",
    "retrace": "The run explained by its fully trained model. Surprise: how far each measured "
    "value was from the prediction just before, in standard deviations. Then vs end: what the "
    "model predicted at each measured point when it chose it, and after seeing everything. "
    "Acquisition terms: how much of each choice was exploitation and how much exploration.",
    "feature_space": "Every candidate patch as a grey dot in a global embedding of the image "
    "patches, the measured points coloured by their value and joined in order: where in the "
    "space of structures the run looked.",
    "best_channel": "Which image channel (or combination) predicts the measured scalar best: "
    "held-out error along the path, lower is better.",
}


def _html(summary: dict[str, Any], stems: list[str], rows: list, trace: Any) -> str:
    from autoscope.report import describe_policy, describe_scalarizer, run_meta

    esc = html.escape
    cf = summary["counterfactual"]
    meta = run_meta(trace)
    parts = [f"<h1>Replay of run <code>{esc(summary['uid'])}</code></h1>"]
    if not cf.get("own_specs"):
        parts.append(
            "<p>Counterfactual scalarizer: "
            f"{esc(describe_scalarizer(cf.get('scalarizer'), meta))}. Policy: "
            f"{esc(describe_policy(cf.get('policy')))}.</p>"
        )
    section = None
    for sec, label, text in rows:
        if sec != section:
            parts.append(("</table>" if section else "") + f"<h2>{esc(sec)}</h2><table>")
            section = sec
        parts.append(f"<tr><th>{esc(label)}</th><td>{esc(text)}</td></tr>")
    parts.append("</table>" if section else "")
    if summary.get("best_channel"):
        head = "<tr><th>rank</th><th>channels</th><th>held-out error / std</th>"
        head += "<th>log marginal likelihood per point</th></tr>"
        body = "".join(
            f"<tr><td>{r['rank']}</td><td>{esc(' + '.join(r['channels']))}</td>"
            f"<td>{r['kfold_nrmse']:.3f}</td><td>{r['log_ml']:.3f}</td></tr>"
            for r in summary["best_channel"]
        )
        parts.append(f"<h2>Best channel</h2><table>{head}{body}</table>")
    parts += [
        f'<h2>{esc(s.replace("_", " "))}</h2><figure><img src="{s}.png" alt="{esc(s)}">'
        f"<figcaption>{esc(CAPTIONS.get(s, ''))}</figcaption></figure>"
        for s in stems
    ]
    parts.append(
        "<p>The raw numbers are in <code>summary.json</code>; one row per decision in "
        "<code>decisions.csv</code> (<code>actual_rank</code>: 0 = the counterfactual's own "
        "choice; <code>surprise_sigma</code>: |measured - predicted| / predicted std).</p>"
    )
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "td,th{padding:3px 8px;text-align:left;border:1px solid #ccc}"
        "table{border-collapse:collapse}figcaption{font-size:90%;color:#333}img{max-width:100%}"
    )
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>autoscope replay</title><style>{style}</style></head>"
            f"<body>{''.join(parts)}</body></html>")  # fmt: skip
