"""Every migration of the project, in the order they run. A release that changes a stored shape adds one.

None yet: no stored item has changed shape since the first release. The first will be
`m0001_<name>.py` beside this file, defining `MIGRATION = Migration(number=1, ...)`, imported here.
"""

from __future__ import annotations

from crm_core.migrations.runner import Migration

MIGRATIONS: tuple[Migration, ...] = ()
