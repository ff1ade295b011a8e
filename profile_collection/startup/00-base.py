# RunEngine, catalog and writer: the base of an autoscope session (IPython or the queueserver).
#
# Where runs go, from the environment (nothing is written into this repository):
#   AUTOSCOPE_TILED_URI (+ AUTOSCOPE_API_KEY, else TILED_API_KEY): a Tiled server;
#   else AUTOSCOPE_CATALOG: an embedded catalog directory
#   (default ~/.local/share/autoscope/catalog).
import os
import warnings

from bluesky import RunEngine
from bluesky.callbacks.best_effort import BestEffortCallback

from autoscope.storage import make_writer, open_catalog

RE = RunEngine({})
bec = BestEffortCallback()
# dkl_explore's other streams hold images, maps and records: LiveExploration shows those
bec.noplot_streams.extend(["structure", "decisions", "interventions", "votes"])
# the spectrum is an array: BestEffortCallback's table and plots skip it (and would say so per run)
warnings.filterwarnings("ignore", message=r"Omitting .* from plot because dtype is array")
warnings.filterwarnings("ignore", message=r"The key .* will be skipped because LiveTable")
RE.subscribe(bec)

catalog = open_catalog(
    os.environ.get("AUTOSCOPE_TILED_URI") or os.environ.get("AUTOSCOPE_CATALOG"),
    api_key=os.environ.get("AUTOSCOPE_API_KEY") or None,
)
# journal first ($AUTOSCOPE_JOURNAL or ~/.local/state/autoscope/journal), Tiled in the background:
# after a crash, `autoscope recover` (docs/data-safety.md)
RE.subscribe(make_writer(catalog))

try:
    from bluesky_queueserver import is_re_worker_active
except ImportError:  # the qserver extra is not installed: this is IPython

    def is_re_worker_active():
        return False


if is_re_worker_active():
    # under start-re-manager nobody watches a figure: no plots, no live view
    bec.disable_plots()
else:
    # in IPython: the exploration live view (image + path, best value, latency)
    from autoscope.live import LiveExploration

    live = LiveExploration()
    RE.subscribe(live)
