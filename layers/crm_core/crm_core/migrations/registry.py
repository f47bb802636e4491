"""Every migration of the project, in the order they run. A release that changes a stored shape adds one.

A migration is a module `mNNNN_<name>.py` beside this file defining its `Migration` (or, for one change
over several tables, one per table, numbered in turn), imported here.

- 0001-0009 (m0001_keyed_contact_ids): contact ids become keyed hashes of the address; every table's
  items move to the new ids, and links already mailed keep working through aliases.
"""

from __future__ import annotations

from crm_core.migrations.m0001_keyed_contact_ids import MIGRATIONS as KEYED_CONTACT_IDS
from crm_core.migrations.runner import Migration

MIGRATIONS: tuple[Migration, ...] = (*KEYED_CONTACT_IDS,)
