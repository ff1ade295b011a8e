"""autoscope: autonomous microscopy with deep kernel learning, as a Bluesky/Ophyd plugin.

A cheap structural image is taken everywhere; a costly spectrum only where a
deep-kernel-learning model, retrained after every spectral event, says it is worth it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("autoscope")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
