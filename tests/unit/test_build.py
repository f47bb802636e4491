"""The built layer keeps our dependencies and drops what the Lambda runtime provides."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.build import layer_size, prune


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


def test_layer_size_sums_each_package_with_its_metadata_and_zips_it(tmp_path: Path) -> None:
    (tmp_path / "pynamodb").mkdir()
    (tmp_path / "pynamodb" / "models.py").write_text("x = 1\n" * 50_000)  # 300 KB, compresses well
    (tmp_path / "pynamodb-6.1.0.dist-info").mkdir()
    (tmp_path / "pynamodb-6.1.0.dist-info" / "RECORD").write_text("r" * 10_000)
    (tmp_path / "typing_extensions.py").write_text("y" * 20_000)

    size = layer_size(tmp_path)

    assert size.biggest == [("pynamodb", pytest.approx(0.31)), ("typing_extensions", pytest.approx(0.02))]
    assert size.unzipped_mb == pytest.approx(0.33)
    assert 0 < size.zipped_mb < size.unzipped_mb / 10
    assert size.line().startswith("CrmCoreLayer: 0.3 MB unzipped, 0.0 MB zipped; biggest (MB): pynamodb 0.3")
