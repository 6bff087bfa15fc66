"""What the Redis server's own configuration and state do to sessions,
found out without ``CONFIG`` (which managed services forbid).

- **Eviction.** With ``maxmemory`` set and a ``maxmemory-policy`` other
  than ``noeviction``, a full Redis drops keys. Every key here has a TTL,
  so the ``volatile-*`` policies drop them as readily as ``allkeys-*``, and
  the per-user and device indexes, written at login only, are the least
  recently used keys: they go first while the sessions in use survive. A
  revocation, *Log out all devices*, a new password, an archived user and
  the per-user limit then miss the sessions those indexes listed.
  :func:`eviction_policy` reads ``INFO memory``.
- **Refused writes.** A Redis that is full under ``noeviction`` answers
  ``OOM``, a replica after a failover ``READONLY``, a server whose
  snapshots fail ``MISCONF``, a user without the right ``NOPERM``: logins
  and changed sessions fail while ``PING`` may still answer.
  :data:`WRITE_PROBE_ENTRY` names a key for a ``SET ... XX`` that is never
  written: the server checks permissions, memory and persistence before it
  looks at the key, so the probe is refused exactly as a session's save
  would be, and writes nothing when it is not. :func:`refusal_advice` says
  what to change.
"""

from typing import Any, Mapping, Optional

from redis.exceptions import NoPermissionError, OutOfMemoryError, ReadOnlyError, ResponseError

# session:[<p>:]health: no session id has this form, so the key never exists
WRITE_PROBE_ENTRY = "health"

# The first word of the server's refusal, and what the operator should change.
REFUSALS = {
    "OOM": "Redis is full (maxmemory) and its maxmemory-policy noeviction refuses new data: "
    "raise maxmemory, or find what fills it (odoo session_redis stats)",
    "READONLY": "this Redis is a read-only replica (after a failover?): point ODOO_SESSION_REDIS_URL "
    "at the primary, or let Sentinel find it (ODOO_SESSION_REDIS_SENTINEL_*)",
    "MISCONF": "Redis cannot write its snapshot and refuses writes (stop-writes-on-bgsave-error): "
    "fix its disk or its persistence settings",
    "NOPERM": "the Redis user lacks a permission the addon needs: give it the ACL rule of docs/security.rst",
}


class EvictingRedis(Exception):
    """Redis may evict the indexes that revocation relies on."""


def refusal_advice(error: BaseException) -> Optional[str]:
    """What to change when Redis refused a command with ``error``: a
    sentence for a refusal of :data:`REFUSALS`, else None. redis-py turns
    some refusals into classes of their own and drops their first word."""
    for kind, word in ((OutOfMemoryError, "OOM"), (ReadOnlyError, "READONLY"), (NoPermissionError, "NOPERM")):
        if isinstance(error, kind):
            return REFUSALS[word]
    if not isinstance(error, ResponseError):
        return None
    reason = str(error).rpartition("caused error: ")[2].strip()  # a pipeline's error names its command
    return REFUSALS.get(reason.split(" ", 1)[0])


def eviction_policy(client: Any) -> Optional[str]:
    """The ``maxmemory-policy`` of a Redis that may evict keys (``maxmemory``
    set, a policy other than ``noeviction``), None for one that never
    does. On a Cluster, the first evicting master's. Raises redis-py's
    errors (``INFO`` refused by the ACL, Redis unreachable)."""
    info = client.info("memory")
    for node in _per_node(info):
        policy = node.get("maxmemory_policy", "noeviction")
        if int(node.get("maxmemory", 0) or 0) > 0 and policy != "noeviction":
            return str(policy)
    return None


def eviction_warning(policy: str) -> str:
    """What an evicting policy does to sessions, in one line."""
    return (
        "Redis evicts keys when full (maxmemory-policy %s): the per-user and device indexes go first, "
        "and a revocation, Log out all devices, a new password or an archived user then misses the "
        "sessions they listed; set maxmemory-policy noeviction" % policy
    )


def _per_node(info: Mapping[str, Any]) -> list:
    """``INFO`` of one server, or of each node of a Cluster (a dict of them)."""
    if info and all(isinstance(value, dict) for value in info.values()):
        return list(info.values())
    return [info]
