"""Small helpers the tests share."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from infra.template import ROOT


def load_handler(function_dir: str) -> ModuleType:
    """Import `functions/<function_dir>/app.py` by its path (functions are not a package)."""
    path = Path(ROOT, "functions", function_dir, "app.py")
    spec = importlib.util.spec_from_file_location(f"handler_{function_dir}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
