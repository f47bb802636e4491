"""The release version, copied from pyproject.toml (the one source): the layer has no package metadata.

`python -m infra.version --write` rewrites it; tests/unit/test_version.py fails when it differs.
"""

__version__ = "0.1.0"
