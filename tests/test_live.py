"""Live views fed with synthetic documents (event_model.compose_run), headless under Agg."""

from __future__ import annotations

import io

import numpy as np
import pytest
from event_model import compose_run, pack_event_page
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from autoscope.live import ExplorationProgress, LiveExploration, find_field

H, W = 10, 12
CAND = np.array([(r, c) for r in range(2, 8) for c in range(3, 9)])  # 36 candidates
N = CAND.shape[0]
IMAGE = np.random.default_rng(1).random((H, W, 2))


def _dk(shape=()):
    return {"source": "sim", "dtype": "array" if shape else "number", "shape": list(shape)}


def synthetic_run(n_points=4, maps_every=2, pages=False):
    """Documents shaped like dkl_explore's: structure, primary, decisions (plan_stubs keys)."""
    run = compose_run(metadata={"autoscope": {"budget": n_points}})
    docs = [("start", run.start_doc)]
    structure = run.compose_descriptor(
        name="structure",
        data_keys={
            "microscope_structure_image": _dk(IMAGE.shape),
            "geometry_candidates": _dk(CAND.shape),
            "geometry_patch_size": _dk(),
        },
    )
    primary = run.compose_descriptor(
        name="primary",
        data_keys={
            k: _dk()
            for k in ("point_row", "point_col", "point_value", "point_step", "microscope_probe_x")
        },
    )
    decisions = run.compose_descriptor(
        name="decisions",
        data_keys={
            "decision_step": _dk(),
            "decision_pred_mean": _dk(),
            "decision_t_total": _dk(),
            "decision_mean_map": _dk((N,)),
            "decision_std_map": _dk((N,)),
        },
    )
    docs += [("descriptor", d.descriptor_doc) for d in (structure, primary, decisions)]

    def ev(bundle, data):
        return ("event", bundle.compose_event(data=data, timestamps={k: 0.0 for k in data}))

    docs.append(
        ev(
            structure,
            {
                "microscope_structure_image": IMAGE,
                "geometry_candidates": CAND,
                "geometry_patch_size": 5,
            },
        )
    )
    values = [1.0, 3.0, 2.0, 5.0, 4.0][:n_points]
    for step, v in enumerate(values):
        r, c = CAND[step * 7]
        data = {"point_row": r, "point_col": c, "point_value": v, "point_step": step}
        docs.append(ev(primary, data | {"microscope_probe_x": 0.5 * c}))
        stored = step % maps_every == 0
        mean = np.arange(N, dtype=float) + step if stored else np.full(N, np.nan)
        data = {
            "decision_step": step + 1,
            "decision_pred_mean": 0.5,
            "decision_t_total": 0.01 * (step + 1),
            "decision_mean_map": mean,
            "decision_std_map": mean / 10,
        }
        docs.append(ev(decisions, data))
    docs.append(("stop", run.compose_stop()))
    if pages:
        docs = [
            ("event_page", pack_event_page(doc)) if name == "event" else (name, doc)
            for name, doc in docs
        ]
    return docs


def agg_live():
    fig = Figure()
    FigureCanvasAgg(fig)
    draws = []
    fig.canvas.draw_idle = lambda *a, **k: draws.append(1)
    return LiveExploration(fig=fig), draws


def test_find_field_prefers_exact_then_suffix():
    data = {"decision_pred_mean": 0.1, "decision_mean_map": [1, 2], "value": 3, "point_value": 4}
    assert find_field(data, "mean") == [1, 2]
    assert find_field(data, "value") == 3
    assert find_field({"point_value": 4}, "value") == 4
    assert find_field({"x": 1}, "value") is None


@pytest.mark.parametrize("pages", [False, True])
def test_live_exploration_updates_artists(pages):
    live, draws = agg_live()
    docs = synthetic_run(pages=pages)
    name, doc = docs[0]
    live(name, doc)
    for name, doc in docs[1:5]:  # descriptors + structure event
        live(name, doc)
    np.testing.assert_array_equal(live.image_artist.get_array(), IMAGE[..., 0])
    np.testing.assert_array_equal(live.candidates, CAND)
    assert live.shape == (H, W)
    assert live.path_line.get_xdata().size == 0
    n_draws = len(draws)
    # first measurement and its decision (maps stored at step 0)
    live(*docs[5])
    np.testing.assert_array_equal(live.path_line.get_xdata(), [CAND[0, 1]])
    np.testing.assert_array_equal(live.path_line.get_ydata(), [CAND[0, 0]])
    live(*docs[6])
    mean = live.mean_artist.get_array()
    assert mean.shape == (H, W)
    assert mean[CAND[5, 0], CAND[5, 1]] == 5.0 and np.ma.is_masked(mean[0, 0])
    assert live.std_artist.get_array()[CAND[10, 0], CAND[10, 1]] == pytest.approx(1.0)
    assert live.mean_artist.get_clim() == (0.0, N - 1.0)
    # step 1 has NaN maps: the mean image is kept
    live(*docs[7])
    live(*docs[8])
    assert live.mean_artist.get_array()[CAND[5, 0], CAND[5, 1]] == 5.0
    for name, doc in docs[9:]:
        live(name, doc)
    rows = [CAND[s * 7, 0] for s in range(4)]
    cols = [CAND[s * 7, 1] for s in range(4)]
    np.testing.assert_array_equal(live.path_line.get_ydata(), rows)
    np.testing.assert_array_equal(live.points.get_offsets(), np.column_stack([cols, rows]))
    np.testing.assert_array_equal(live.best_line.get_ydata(), [1.0, 3.0, 3.0, 5.0])
    # maps of step 2: arange + 2
    assert live.mean_artist.get_array()[CAND[0, 0], CAND[0, 1]] == 2.0
    assert "step 3" in live.ax_mean.get_title()
    assert live.n_decisions == 4
    assert len(draws) > n_draws + 7
    live.fig.canvas.draw()  # renders headless


def test_live_exploration_resets_on_new_run_and_uses_shape_without_structure():
    live, _ = agg_live()
    for name, doc in synthetic_run():
        live(name, doc)
    assert len(live.rows) == 4
    # a second run without a structure stream; maps of H*W values are reshaped
    live2 = LiveExploration(shape=(H, W), fig=live.fig)
    run = compose_run()
    live2("start", run.start_doc)
    assert live2.rows == [] and live2.candidates is None
    d = run.compose_descriptor(name="decisions", data_keys={"decision_mean_map": _dk((H * W,))})
    live2("descriptor", d.descriptor_doc)
    live2("event", d.compose_event(data={"decision_mean_map": np.arange(H * W, dtype=float)},
                                   timestamps={"decision_mean_map": 0.0}))  # fmt: skip
    np.testing.assert_array_equal(live2.mean_artist.get_array(), np.arange(H * W).reshape(H, W))


def test_live_exploration_default_figure_is_headless_safe():
    import matplotlib
    import matplotlib.pyplot as plt

    plt.switch_backend("Agg")
    assert matplotlib.get_backend().lower() == "agg"
    live = LiveExploration()
    try:
        for name, doc in synthetic_run():
            live(name, doc)
        assert live.fig is not None and len(live.fig.axes) >= 4
        live.fig.canvas.draw()
    finally:
        plt.close(live.fig)


def test_progress_counts_best_and_latency():
    out = io.StringIO()
    bar = ExplorationProgress(file=out)
    docs = synthetic_run()
    for name, doc in docs[:6]:
        bar(name, doc)
    assert bar.bar.total == 4  # from the start document's autoscope budget
    assert bar.n == 1 and bar.best == 1.0
    for name, doc in docs[6:]:
        bar(name, doc)
    assert bar.n == 4 and bar.best == 5.0
    assert bar.latency == pytest.approx(0.04)
    text = out.getvalue()
    assert "4/4" in text and "best=5" in text and "latency=0.040s" in text


@pytest.mark.slow
def test_live_views_follow_a_real_dkl_explore(RE):
    """The field names the views look for are the ones dkl_explore really emits."""
    from autoscope.devices.sim import SimMicroscope
    from autoscope.plans import dkl_explore
    from autoscope.testing import TinySample

    sample = TinySample(shape=(16, 16), seed=0, channels=2)
    mic = SimMicroscope(sample, seed=0)
    live, draws = agg_live()
    bar = ExplorationProgress(file=io.StringIO())
    values = []
    RE.subscribe(live)
    RE.subscribe(bar)
    RE.subscribe(lambda name, doc: values.append(doc["data"]["point_value"])
                 if name == "event" and "point_value" in doc["data"] else None)  # fmt: skip
    RE(dkl_explore(mic, sample.default_scalarizer, budget=8, n_seed=3, patch_size=5, seed=0))
    assert live.candidates is not None and live.candidates.shape[1] == 2
    assert live.shape == (16, 16)
    np.testing.assert_array_equal(live.image_artist.get_array(), sample.image[..., 0])
    assert len(live.rows) == 8 and live.path_line.get_xdata().size == 8
    np.testing.assert_allclose(live.best_line.get_ydata(), np.fmax.accumulate(values))
    mean = np.ma.filled(live.mean_artist.get_array().astype(float), np.nan)
    assert np.isfinite(mean).sum() == live.candidates.shape[0]
    assert live.n_decisions >= 6
    assert bar.n == 8 and bar.best == pytest.approx(max(values))
    assert np.isfinite(bar.latency) and bar.latency > 0
