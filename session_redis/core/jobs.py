"""The operator jobs on the stored sessions, with no Odoo in sight.

Each function takes a :class:`~session_redis.core.store.RedisSessionStore` and
goes through its bulk methods, the one place that knows the session keys:
they are found with SCAN, never KEYS (which blocks Redis on a big keyspace),
on every master of a Cluster, and read or deleted in pipelined batches: one
round trip per batch instead of one per session.

Sessions of the older camptocamp module under ``session::<prefix>:<sid>``
count as sessions of the prefix: the store still reads them, so stats show
them and a revocation deletes them.

``progress`` arguments are called with the number of sessions (or files)
handled so far, after each batch.
"""

import collections
import os
from typing import Any, Callable, Dict, List, Mapping, Optional

from .batches import BATCH, batches
from .fs_sessions import CopyResult, read_session_file, session_files
from .store import RedisSessionStore, decoded, owner_of

HOUR = 3600
DAY = 24 * HOUR

# (label, upper bound in seconds, exclusive); the last bucket has no bound.
TTL_BUCKETS = [("<1h", HOUR), ("<1d", DAY), ("<7d", 7 * DAY), (">=7d", None)]
NO_EXPIRY = "no expiry"

ExportResult = collections.namedtuple("ExportResult", "exported already_on_disk unreadable hashed")
RevokeResult = collections.namedtuple("RevokeResult", "revoked scanned")


def _no_progress(count: int) -> None:
    pass


def _data(raw: Optional[bytes]) -> Optional[Dict[str, Any]]:
    """The session dict of stored bytes, without the addon's times; None if
    gone or unreadable."""
    item = decoded(raw)
    return item[0] if item else None


def ttl_bucket(ttl: int) -> str:
    if ttl < 0:
        return NO_EXPIRY
    return next(label for label, bound in TTL_BUCKETS if bound is None or ttl < bound)


def collect_stats(
    store: RedisSessionStore, batch: int = BATCH, progress: Callable[[int], None] = _no_progress
) -> Dict[str, Any]:
    """Counts, memory and time-to-live histogram of the prefix's sessions.

    ``memory_bytes`` is the sum of MEMORY USAGE, or None when Redis refuses
    that command (an ACL user without it, say): the counts still matter.
    ``unreadable`` counts keys that hold no session this addon can read
    (another Redis type, broken JSON or times); ``other_series`` the keys
    of another Odoo series' sessions under the same prefix, left alone.
    Reads only.
    """
    stats: Dict[str, Any] = {
        "sessions": 0,
        "logged_in": 0,
        "anonymous": 0,
        "unreadable": 0,
        "memory_bytes": 0,
        "ttl": collections.OrderedDict((label, 0) for label, _ in TTL_BUCKETS + [(NO_EXPIRY, 0)]),
        "other_series": 0,
    }
    others: List[str] = []
    for keys in batches((key for _entry, key in store.scan(others)), batch):
        for raw, ttl, memory in store.values(keys, ttl=True, memory=True):
            if raw is None:  # expired between SCAN and GET
                continue
            stats["sessions"] += 1
            data = _data(raw)
            if data is None:
                stats["unreadable"] += 1
            elif data.get("uid"):
                stats["logged_in"] += 1
            else:
                stats["anonymous"] += 1
            stats["ttl"][ttl_bucket(ttl)] += 1
            if memory is None or stats["memory_bytes"] is None:
                stats["memory_bytes"] = None
            else:
                stats["memory_bytes"] += memory
        progress(stats["sessions"])
    stats["other_series"] = len(others)
    return stats


def preview_copy(
    folder: str,
    store: RedisSessionStore,
    batch: int = BATCH,
    progress: Callable[[int], None] = _no_progress,
) -> CopyResult:
    """What :func:`copy_fs_sessions` would do, as its result, writing nothing."""
    would_copy = already = unreadable = too_large = seen = 0
    for files in batches(session_files(folder), batch):
        readable = []
        for sid, path in files:
            try:
                data = read_session_file(path)
            except (OSError, ValueError):
                unreadable += 1
                continue
            if store.too_large(data):
                too_large += 1
                continue
            readable.append(sid)
        present = sum(store.stored(readable))
        would_copy += len(readable) - present
        already += present
        seen += len(files)
        progress(seen)
    return CopyResult(would_copy, already, unreadable, too_large)


def export_sessions(
    store: RedisSessionStore,
    fs_store: Any,
    overwrite: bool = False,
    batch: int = BATCH,
    progress: Callable[[int], None] = _no_progress,
) -> ExportResult:
    """Write the prefix's sessions as Odoo's session files through ``fs_store``
    (Odoo's own filesystem store, with its session class).

    A file already there is kept unless ``overwrite``: it may be newer than
    Redis's copy if filesystem nodes already run. A session stored by the
    hash of its id (``ODOO_SESSION_REDIS_HASH_IDS``) cannot be named by a
    file: it is counted in ``hashed`` and stays in Redis only.
    """
    exported = already = unreadable = hashed = seen = 0
    for pairs in batches(store.scan(), batch):
        for (sid, _key), raw in zip(pairs, store.values([key for _sid, key in pairs])):
            if raw is None:
                continue
            if not store.is_valid_key(sid):
                hashed += 1
                continue
            data = _data(raw)
            if data is None:
                unreadable += 1
                continue
            if not overwrite and os.path.lexists(fs_store.get_session_filename(sid)):
                already += 1
                continue
            fs_store.save(fs_store.session_class(data, sid, False))
            exported += 1
        seen += len(pairs)
        progress(seen)
    return ExportResult(exported, already, unreadable, hashed)


def revoke_sessions(
    store: RedisSessionStore,
    login: Optional[str] = None,
    db: Optional[str] = None,
    everything: bool = False,
    dry_run: bool = False,
    batch: int = BATCH,
    progress: Callable[[int], None] = _no_progress,
) -> RevokeResult:
    """Delete the sessions of ``login`` (of database ``db`` if given), or
    every session of the prefix with ``everything``; return how many.

    The next request of a revoked session finds no session: Odoo answers as
    for an expired one, on every node at once.
    """
    if everything == (login is not None):
        raise ValueError("give either a login or everything=True")
    revoked = scanned = 0
    for pairs in batches(store.scan(), batch):
        sessions = [
            (entry, _data(raw))
            for (entry, _key), raw in zip(pairs, store.values([key for _entry, key in pairs]))
        ]
        doomed = [(entry, data) for entry, data in sessions if everything or _belongs_to(data, login, db)]
        if doomed and not dry_run:
            owners = [owner_of(data) if data else None for _entry, data in doomed]
            revoked += store.delete_many([entry for entry, _data in doomed], owners)
        else:
            revoked += len(doomed)
        scanned += len(pairs)
        progress(scanned)
    return RevokeResult(revoked, scanned)


def _belongs_to(data: Optional[Mapping[str, Any]], login: Optional[str], db: Optional[str]) -> bool:
    return data is not None and data.get("login") == login and (db is None or data.get("db") == db)
