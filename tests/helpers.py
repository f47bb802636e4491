"""Small helpers shared by tests."""

from __future__ import annotations

import importlib.util
from functools import cache
from types import ModuleType

from infra.template import ROOT


@cache
def load_handler(function_dir: str) -> ModuleType:
    """Import functions/<function_dir>/app.py by path (handlers are not a package)."""
    path = ROOT / "functions" / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function_dir}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
