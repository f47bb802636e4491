"""The complaints scene over HTTP on the local stack: complaint, case, ack, threaded reply."""

from __future__ import annotations

import importlib.util

import pytest

from infra.template import ROOT

pytestmark = pytest.mark.e2e


def test_the_complaints_scene_plays(local_stack) -> None:
    path = ROOT / "infra" / "demo" / "scenes" / "40_complaints.py"
    spec = importlib.util.spec_from_file_location("scene_40_complaints", path)
    assert spec and spec.loader
    scene = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scene)
    scene.play(local_stack)
