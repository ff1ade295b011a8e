"""Import atomai 0.8.1 beside the CPU build of torch.

atomai imports torchvision (for network blocks it does not use in ``dklGPR``), and the
torchvision wheels on PyPI are built against CUDA torch: their compiled operators
(``torchvision/_C.so``) cannot load beside the CPU torch, so torchvision falls back to
its Python part, which then registers fake (meta) kernels for the operators
``torchvision::nms`` and ``torchvision::qnms`` at import time. With no such operator
defined, that import fails (``RuntimeError: operator torchvision::nms does not exist``).

:func:`import_atomai` first lets torch load torchvision's compiled operators when they
load (a CPU build of torchvision, or CUDA torch): then nothing else is needed. Otherwise
it defines the two operator *schemas* (the signatures torchvision's own C++ code
registers, no kernel) with :class:`torch.library.Library` before importing atomai.
``dklGPR`` never calls them; a call of either raises torch's "no kernel" error.

Install (the ``reference`` extra holds atomai's runtime dependencies; atomai itself goes
in without its declared ones, which name the GUI build of OpenCV)::

    pip install "autoscope[reference]"
    pip install --no-deps atomai==0.8.1
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType

from autoscope.errors import AutoscopeError

__all__ = ["INSTALL_HINT", "TORCHVISION_SCHEMAS", "define_torchvision_schemas", "import_atomai"]

#: how to install the reference row's packages
INSTALL_HINT = 'pip install "autoscope[reference]" && pip install --no-deps atomai==0.8.1'

#: the operators torchvision's Python part registers fake kernels for at import
TORCHVISION_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

#: the library object that owns the schemas (kept alive: dropping it would remove them)
_LIBRARY = None


def _has_op(name: str) -> bool:
    import torch

    try:
        torch._C._dispatch_find_schema_or_throw(f"torchvision::{name}", "")
    except RuntimeError:
        return False
    return True


def _load_compiled_ops() -> bool:
    """Let torch load torchvision's compiled operators; False where they do not load here."""
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    for folder in spec.submodule_search_locations:
        for lib in sorted(Path(folder).glob("_C*.so")) + sorted(Path(folder).glob("_C*.pyd")):
            try:
                torch.ops.load_library(str(lib))
            except (OSError, RuntimeError):
                return False
            return True
    return False


def define_torchvision_schemas() -> list[str]:
    """Make ``torchvision::nms`` and ``torchvision::qnms`` exist before torchvision is imported.

    Returns
    -------
    list of str
        The operators defined here as schemas only (empty where torchvision's compiled
        operators loaded, or where they were defined already).
    """
    global _LIBRARY
    import torch

    if all(_has_op(n) for n in TORCHVISION_SCHEMAS):
        return []
    if _load_compiled_ops() and all(_has_op(n) for n in TORCHVISION_SCHEMAS):
        return []
    if _LIBRARY is None:
        _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
    defined = []
    for name, schema in TORCHVISION_SCHEMAS.items():
        if not _has_op(name):
            _LIBRARY.define(schema)
            defined.append(f"torchvision::{name}")
    return defined


def import_atomai() -> ModuleType:
    """Import atomai (through :func:`define_torchvision_schemas`) and return the module.

    Known import-time warnings of atomai's dependencies (mendeleev 0.6.1 on SQLAlchemy 2,
    ``torch.jit.script`` in torchvision) are silenced for the import only.

    Raises
    ------
    AutoscopeError
        atomai, or one of its runtime dependencies, is not installed (the message says
        what to install).
    """
    loaded = sys.modules.get("atomai")
    if loaded is not None:
        return loaded
    if importlib.util.find_spec("atomai") is None:
        raise AutoscopeError(f"the atomai reference row needs atomai 0.8.1: {INSTALL_HINT}")
    define_torchvision_schemas()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*declarative_base\(\)", category=Warning)
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=Warning)
        warnings.filterwarnings("ignore", message=r".*Failed to load image Python extension.*")
        try:
            return importlib.import_module("atomai")
        except ImportError as exc:
            raise AutoscopeError(
                f"atomai is installed but one of its dependencies is not ({exc}): {INSTALL_HINT}"
            ) from exc
