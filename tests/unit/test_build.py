"""The built layer keeps our dependencies and drops what the Lambda runtime provides."""

from __future__ import annotations

from pathlib import Path

from infra.build import prune


def test_prune_drops_runtime_packages_and_keeps_ours(tmp_path: Path) -> None:
    for folder in (
        "botocore",
        "botocore-1.44.5.dist-info",
        "dateutil",
        "python_dateutil-2.9.0.post0.dist-info",
        "jmespath-1.1.0.data",
        "pynamodb",
        "pynamodb-6.1.0.dist-info",
        "crm_core",
        "six-1.17.0.dist-info",
    ):
        (tmp_path / folder).mkdir()
    (tmp_path / "six.py").write_text("")
    (tmp_path / "typing_extensions.py").write_text("")

    prune(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "crm_core",
        "pynamodb",
        "pynamodb-6.1.0.dist-info",
        "typing_extensions.py",
    ]
