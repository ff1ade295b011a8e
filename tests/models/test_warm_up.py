"""The first training's one-time costs can be paid before the first decision."""

import subprocess
import sys

import torch

from autoscope.models import warm_up

SCRIPT = """
import sys, time
import autoscope.models as m
before = "torch._dynamo" in sys.modules
spent = m.warm_up()
import torch
p = torch.nn.Parameter(torch.zeros(2))
t0 = time.perf_counter()
torch.optim.Adam([p])
print(before, "torch._dynamo" in sys.modules, spent, time.perf_counter() - t0, m.warm_up())
"""


def test_warm_up_imports_what_the_first_optimizer_needs_once():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         check=True, timeout=240)  # fmt: skip
    before, after, spent, adam, again = out.stdout.split()
    assert (before, after) == ("False", "True")  # the import happened in warm_up
    assert float(spent) > 0 and float(again) == 0.0  # once per process
    assert float(adam) < float(spent)  # a later optimizer no longer pays it


def test_warm_up_leaves_the_random_state_alone():
    torch_state = torch.random.get_rng_state()
    assert warm_up() >= 0.0
    assert torch.equal(torch_state, torch.random.get_rng_state())
