"""Odoo sessions in Redis, knowing no Odoo: :class:`RedisSessionStore`.

The store is the one place that reads and writes session keys. Each
concern is a module of its own:

- :mod:`.session_store`: the request path Odoo calls (get, save, delete);
- :mod:`.writes`: the one write path, which never writes a session that
  ended since its request read it, and the one way sessions end;
- :mod:`.early_reads`: the session's ``GET`` sent as the request arrives,
  its reply read when the session is asked for;
- :mod:`.indexes`: per-user and device indexes, the per-user limit;
- :mod:`.admin`: bulk work for the migration and the operator command;
- :mod:`.activity`: last-activity records for other addons;
- :mod:`.names`, :mod:`.expiry`, :mod:`.values`: how sessions are named,
  how long they live, what a stored value says (no Redis in these).

Usage::

    store = RedisSessionStore(redis_client, session_class=Session,
                              prefix="shop", expiration=7 * 86400)
    session = store.get(sid)      # a new session if sid is unknown or bad
    store.save(session)
"""

from .expiry import own_expiration, ttl_for
from .indexes import SCAN_BATCH, IndexEntries, UserSession
from .names import HEX_ID, Names, short_hash, short_id
from .session_store import ENDED_BUT_UNAVAILABLE, RedisSessionStore, RedisUnavailable, Unmetered, wall_clock
from .values import (
    LOGIN_INFO,
    NOT_A_STRING,
    Loaded,
    decoded,
    encode_with_times,
    holds_only_odoo_defaults,
    owner_of,
)
from .writes import Predecessor, Put

__all__ = [
    "ENDED_BUT_UNAVAILABLE",
    "HEX_ID",
    "LOGIN_INFO",
    "NOT_A_STRING",
    "SCAN_BATCH",
    "IndexEntries",
    "Loaded",
    "Names",
    "Predecessor",
    "Put",
    "RedisSessionStore",
    "RedisUnavailable",
    "Unmetered",
    "UserSession",
    "decoded",
    "encode_with_times",
    "holds_only_odoo_defaults",
    "own_expiration",
    "owner_of",
    "short_hash",
    "short_id",
    "ttl_for",
    "wall_clock",
]
