"""Which shard of a sharded index a key lands in: one hash for every model and the lifecycle.

A leaf module (no pynamodb), so the lifecycle functions, which read contacts through the plain
client, do not import the models to compute a review key.
"""

from __future__ import annotations

import hashlib


def shard_of(key: str, shards: int) -> int:
    """The shard (0 to `shards` - 1) of `key`: stable across processes and releases, because it is
    stored in index keys and queried shard by shard."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % shards
