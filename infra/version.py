"""`python -m infra.version [--write]`: pyproject.toml's version is the one source; the rest copy it.

The layer cannot read package metadata (sam build installs no dist-info for crm_core), and the
template's `AWS::ServerlessRepo::Application` metadata allows no intrinsic: both hold a copy. Without
`--write` this prints the version and exits 1 if a copy differs; `--write` brings the copies in line.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT_PATH = ROOT / "pyproject.toml"
VERSION_FILE = ROOT / "layers" / "crm_core" / "crm_core" / "_version.py"
TEMPLATE_PATH = ROOT / "template.yaml"
SAR_METADATA = "AWS::ServerlessRepo::Application"
_LAYER_LINE = re.compile(r'^__version__ = "([^"]*)"$', re.MULTILINE)
# The SemanticVersion line inside the template's top-level SAR metadata (indented under it).
_TEMPLATE_LINE = re.compile(r"^(    SemanticVersion: )\"?([^\"\n]*)\"?$", re.MULTILINE)


def pyproject_version(path: Path = PYPROJECT_PATH) -> str:
    """The `[project] version` of pyproject.toml. Raises KeyError when it has none."""
    with path.open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def layer_version(path: Path = VERSION_FILE) -> str | None:
    """The version the layer's `_version.py` carries, or None when it names none."""
    match = _LAYER_LINE.search(path.read_text(encoding="utf-8"))
    return match.group(1) if match else None


def template_version(path: Path = TEMPLATE_PATH) -> str | None:
    """`SemanticVersion` of the template's SAR metadata, or None when the template has none."""
    from infra.template import load

    metadata = load(path).get("Metadata", {}).get(SAR_METADATA, {})
    value = metadata.get("SemanticVersion")
    return None if value is None else str(value)


def mismatches(
    pyproject: Path = PYPROJECT_PATH, layer: Path = VERSION_FILE, template: Path = TEMPLATE_PATH
) -> list[str]:
    """One line per copy of the version that differs from pyproject.toml's (empty: all agree)."""
    version = pyproject_version(pyproject)
    copies = {
        "the layer's _version.py": layer_version(layer),
        "template.yaml's SemanticVersion": template_version(template),
    }
    problems = [
        f"{name} says {found!r}, pyproject.toml says {version!r}"
        for name, found in copies.items()
        if found != version
    ]
    return problems


def write(
    pyproject: Path = PYPROJECT_PATH, layer: Path = VERSION_FILE, template: Path = TEMPLATE_PATH
) -> str:
    """Copy pyproject.toml's version into the layer and the template; returns it.

    Raises ValueError when the template has no SemanticVersion line to rewrite.
    """
    version = pyproject_version(pyproject)
    text = layer.read_text(encoding="utf-8")
    layer.write_text(_LAYER_LINE.sub(f'__version__ = "{version}"', text), encoding="utf-8")
    text = template.read_text(encoding="utf-8")
    if not _TEMPLATE_LINE.search(text):
        raise ValueError(f"{template} has no SemanticVersion line under Metadata: {SAR_METADATA}")
    template.write_text(_TEMPLATE_LINE.sub(rf'\g<1>"{version}"', text, count=1), encoding="utf-8")
    return version


def main(argv: Sequence[str] | None = None) -> int:
    """Print the version; 1 when a copy differs (and --write was not given)."""
    parser = argparse.ArgumentParser(prog="python -m infra.version", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="copy the version into the layer and template")
    args = parser.parse_args(argv)
    if args.write:
        print(write())
        return 0
    print(pyproject_version())
    problems = mismatches()
    for problem in problems:
        print(f"version: {problem} (python -m infra.version --write)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
