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
RE.subscribe(make_writer(catalog))
