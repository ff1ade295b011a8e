"""Where a benchmark job was made: a fingerprint of the code and the machine it ran on.

Stored with every job: ``--resume`` re-runs jobs made with other code, and the report
names the code and the machine, since the same code and seeds decide differently on
another CPU or build of the numerical libraries (float sums in another order change a
fit in its last digits, and a closed loop turns that into another path).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = ["code_fingerprint", "environment"]

#: the sources a run's numbers depend on (relative to the package), for the code fingerprint
_CODE = (
    "recommender/*.py",
    "features.py",
    "_*.py",
    "models/*.py",
    "policies/*.py",
    "sim/*.py",
    "scalarizers/*.py",
    "bench/tasks.py",
    "bench/methods.py",
    "bench/metrics.py",
    "bench/reference.py",
    "bench/atomai_ref.py",
    "bench/_atomai_shim.py",
)


def code_fingerprint() -> str:
    """Return a short SHA-256 of the sources the benchmark's numbers depend on.

    Stored with every job: ``resume`` re-runs jobs made with other code, and the
    report warns when the jobs of one report were made with different code.
    """
    import hashlib

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted({p for pattern in _CODE for p in root.glob(pattern)}):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def environment() -> dict[str, Any]:
    """Where the benchmark ran: versions, cores, threads."""
    import numpy as np

    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
    }
    try:
        import gpytorch
        import torch

        env.update(torch=torch.__version__, gpytorch=gpytorch.__version__)
        env["torch_threads"] = torch.get_num_threads()
        env["cuda"] = torch.cuda.is_available()
        # the CPU and its vector unit: the same code and seeds decide differently elsewhere
        env["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    env["cpu"] = _cpu_model()
    for dist in ("scipy", "linear_operator", "botorch"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            env[dist] = importlib.metadata.version(dist)
    from autoscope import __version__

    env["autoscope"] = __version__
    return env


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
