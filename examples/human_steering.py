"""Steer a running DKL experiment from IPython: pause, change, resume; then live, from a thread.

Run it as a script (``python examples/human_steering.py``, about a minute on 2 CPU cores) or
paste the blocks into IPython.
A callback pauses the run after the 12th spectrum (as Ctrl-C or ``RE.request_pause()`` would);
while paused we switch EI → UCB (β = 4) and exclude the top rows; after ``RE.resume()`` a
thread asks for 3 steps of pure exploration and forces one point while the run goes on.
The interventions are in the run's ``interventions`` stream and ``trace.interventions``.
"""

from __future__ import annotations

import threading
import time

from bluesky import RunEngine
from bluesky.utils import RunEngineInterrupted

from autoscope import trace
from autoscope.devices.sim import SimMicroscope
from autoscope.plans import dkl_explore
from autoscope.sim import make_sample
from autoscope.steering import Steering
from autoscope.storage import make_writer, open_catalog

RE = RunEngine({}, call_returns_result=False)
catalog = open_catalog()  # $AUTOSCOPE_CATALOG or the default embedded catalog
RE.subscribe(make_writer(catalog, batch_size=1))

sample = make_sample("stem", shape=(32, 32), seed=0)  # STEM-EELS, 0.1 nm pixels
microscope = SimMicroscope(sample, seed=0)
steer = Steering(name="steer")
steer.operator.put("ana")


def pause_after_12(name, doc):
    # as Ctrl-C would; request_pause waits for the RunEngine's loop, so not from its own thread
    if name == "event" and doc["data"].get("point_step") == 11:
        threading.Thread(target=RE.request_pause, args=(True,)).start()


token = RE.subscribe(pause_after_12)
plan = dkl_explore(
    microscope,
    sample.default_scalarizer,
    "ei",
    budget=30,
    n_seed=6,
    patch_size=8,
    seed=0,
    steering=steer,
    model={"name": "dkl", "params": {"n_iter": 60, "warm_iter": 10}},
)
try:
    RE(plan)
except RunEngineInterrupted:
    print("paused at step", steer.step.get())
RE.unsubscribe(token)

# -- paused: change the policy and forbid the top rows -----------------------------------
steer.policy("ucb", beta=4.0)
steer.exclude(rows=(0, 8), cols=(0, 32))


# -- live: another thread steers while the run goes on -------------------------------------
def operator():
    while steer.step.get() < 16:
        time.sleep(0.05)
    steer.explore(3, who="bo")  # max-variance for 3 decisions, then back to UCB
    steer.force([(24, 6)], who="bo")


thread = threading.Thread(target=operator)
thread.start()
(uid,) = RE.resume()
thread.join()

tr = trace.load(uid, catalog)
for r in tr.interventions:
    print(f"step {r['step']:3d}  {r['who']:9s} {r['kind']:8s} {str(r['new'])[:70]}")
print(
    "points in the excluded rows after the change:",
    sum(1 for s, r in zip(tr.steps, tr.rows, strict=True) if s >= 12 and r < 8),
)
