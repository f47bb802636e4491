"""After `sam build`: take out of the layer what the Lambda runtime already provides.

pynamodb depends on botocore, so pip puts botocore (and jmespath, urllib3, dateutil, six) into
the layer: ~30 MB that the python3.12 runtime already has, patched by AWS. They go.

The business files (campaigns, rules, page wording) are checked, and each YAML file of the layer is
replaced by its data as JSON, so no function imports PyYAML at cold start (`infra.business_files`).
"""

from __future__ import annotations

import argparse
import re
import shutil
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("build_dir", type=Path, nargs="?", default=Path(".aws-sam/build"))
    args = parser.parse_args()
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
