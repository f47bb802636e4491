"""Importing a Python file by its path: handlers (`functions/<name>/app.py`) and demo scenes live in
folders that are no importable package names."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType


def load_module(path: Path, name: str) -> ModuleType:
    """The module of file `path`, imported under `name` (not added to sys.modules). Raises ImportError
    when the file cannot be imported, and whatever its code raises."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
