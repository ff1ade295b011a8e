# RunEngine, catalog and writer: the base of an autoscope session.
import os

from bluesky import RunEngine
from bluesky.callbacks.best_effort import BestEffortCallback

from autoscope.storage import make_writer, open_catalog

RE = RunEngine({})
bec = BestEffortCallback()
bec.disable_plots()
RE.subscribe(bec)

catalog = open_catalog(os.environ.get("AUTOSCOPE_TILED_URI") or os.environ.get("AUTOSCOPE_CATALOG"))
# journal first ($AUTOSCOPE_JOURNAL or ~/.local/state/autoscope/journal), Tiled in the background:
# after a crash, `autoscope recover` (docs/data-safety.md)
RE.subscribe(make_writer(catalog))
