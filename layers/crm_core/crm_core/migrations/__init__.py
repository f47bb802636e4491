"""Data migrations: numbered, idempotent, resumable rewrites of stored items (expand, migrate, contract).

Each migration is a module `mNNNN_<name>.py` in this package defining `MIGRATION`, listed in
`registry.MIGRATIONS`; the runner (`runner.Runner`) pages through its table, rewrites what it
concerns, and records its progress in DynamoDB. This package is the only place a Scan is allowed.
"""

from __future__ import annotations

from crm_core.migrations.runner import (
    DONE,
    PENDING,
    RUNNING,
    Migration,
    Outcome,
    Pace,
    Progress,
    Rekey,
    Rewrite,
    Runner,
)

__all__ = [
    "DONE",
    "PENDING",
    "RUNNING",
    "Migration",
    "Outcome",
    "Pace",
    "Progress",
    "Rekey",
    "Rewrite",
    "Runner",
]
