"""After `sam build`: take out of the layer what the Lambda runtime already provides.

pynamodb depends on botocore, so pip puts botocore (and jmespath, urllib3, dateutil, six) into
the layer: ~30 MB that the python3.12 runtime already has, patched by AWS. They go.

The business files (campaigns, rules, page wording) are checked, and each YAML file of the layer is
replaced by its data as JSON, so no function imports PyYAML at cold start (`infra.business_files`).
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra import business_files

RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "dateutil",
    "python_dateutil",
    "six",
)
_DIST = re.compile(r"^(?P<name>[A-Za-z0-9_.]+?)-\d[^/]*\.(dist-info|data)$")


def prune(site: Path) -> list[str]:
    """Delete runtime-provided packages from one layer's site folder; returns what was removed."""
    removed: list[str] = []
    for entry in sorted(site.iterdir()):
        match = _DIST.match(entry.name)
        name = match.group("name") if match else entry.name.removesuffix(".py")
        if name.lower().replace("-", "_") in RUNTIME_PROVIDED:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            removed.append(entry.name)
    return removed


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1_000_000


@dataclass(frozen=True)
class LayerSize:
    unzipped_mb: float
    zipped_mb: float
    biggest: list[tuple[str, float]]  # (package, unzipped MB), largest first

    def line(self, name: str = "CrmCoreLayer") -> str:
        parts = ", ".join(f"{package} {mb:.1f}" for package, mb in self.biggest)
        sizes = f"{self.unzipped_mb:.1f} MB unzipped, {self.zipped_mb:.1f} MB zipped"
        return f"{name}: {sizes}; biggest (MB): {parts}"


def layer_size(site: Path, top: int = 5) -> LayerSize:
    """A built layer's size as Lambda counts it (unzipped, and zipped as `sam deploy` uploads it) and its
    biggest packages (a package's folder with its .dist-info and .libs)."""
    packages: dict[str, float] = {}
    for entry in site.iterdir():
        match = _DIST.match(entry.name)
        name = match.group("name") if match else entry.name.removesuffix(".py").removesuffix(".libs")
        name = name.lower().replace("-", "_")
        packages[name] = packages.get(name, 0.0) + (
            size_mb(entry) if entry.is_dir() else entry.stat().st_size / 1_000_000
        )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in sorted(f for f in site.rglob("*") if f.is_file()):
            zipped.write(file, Path("python") / file.relative_to(site))
    biggest = sorted(packages.items(), key=lambda kv: -kv[1])[:top]
    return LayerSize(size_mb(site), len(archive.getvalue()) / 1_000_000, biggest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("build_dir", type=Path, nargs="?", default=Path(".aws-sam/build"))
    parser.add_argument("--size", action="store_true", help="only print each layer's size (after compiling)")
    args = parser.parse_args()
    if args.size:
        for site in sorted(args.build_dir.glob("*Layer/python")):
            print(layer_size(site).line(site.parent.name))
        return
    business_files.check()  # a broken business file fails the build, not a function's first event
    for site in sorted(args.build_dir.glob("*Layer/python")):
        before = size_mb(site)
        removed = prune(site)
        converted = business_files.write_json(site / "crm_core")
        print(
            f"{site.parent.name}: {before:.1f} MB -> {size_mb(site):.1f} MB (removed {len(removed)} entries,"
            f" {len(converted)} business files as JSON)"
        )


if __name__ == "__main__":
    main()
