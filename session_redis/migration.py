"""Move a site's existing filesystem sessions when it switches to Redis.

``copy_fs_sessions`` streams Odoo's session folder into Redis in batches,
through the store's :meth:`~session_redis.store.RedisSessionStore.add_many`
(a pipeline of ``SET ... EX ... NX`` per batch): memory stays flat however
many files there are, and a session that already exists in Redis (newer,
because users kept working) is never overwritten by its old file.
``purge_fs_sessions`` deletes the session files.

Reading those files means unpickling them: they are Odoo's own files on
the local disk, never data that came from Redis.
"""

import collections
import logging
import os
import pickle
import re

_logger = logging.getLogger(__name__)

SESSION_FILE = re.compile(r"werkzeug_([a-f0-9]{40})\.sess")
BATCH = 500

CopyResult = collections.namedtuple("CopyResult", "copied already_in_redis unreadable too_large")


def session_files(folder):
    """Yield ``(sid, path)`` for each session file in ``folder``."""
    with os.scandir(folder) as entries:
        for entry in entries:
            match = SESSION_FILE.fullmatch(entry.name)
            if match and entry.is_file():
                yield match.group(1), entry.path


def read_session_file(path):
    """The session dict pickled in ``path``; ValueError if it is not one."""
    try:
        with open(path, "rb") as handle:
            data = pickle.load(handle)
    except Exception as error:  # a torn or foreign file: any unpickling error
        raise ValueError("%s: %s" % (type(error).__name__, error))
    if not isinstance(data, dict):
        raise ValueError("holds a %s, not a session" % type(data).__name__)
    return data


def copy_fs_sessions(folder, store, batch=BATCH, progress=None):
    """Copy every readable session file of ``folder`` into ``store``;
    ``progress(sessions sent so far)`` is called after each batch."""
    counts = collections.Counter()
    pending = []
    for sid, path in session_files(folder):
        try:
            pending.append((sid, read_session_file(path)))
        except (OSError, ValueError) as error:
            counts["unreadable"] += 1
            _logger.warning("skipped unreadable session file %s: %s", os.path.basename(path), error)
            continue
        if len(pending) >= batch:
            _add(store, pending, counts, progress)
    if pending:
        _add(store, pending, counts, progress)
    return CopyResult(counts[True], counts[False], counts["unreadable"], counts[None])


def _add(store, pending, counts, progress):
    """Send a batch; count it by outcome (True copied, False kept, None too large)."""
    counts.update(store.add_many(pending))
    del pending[:]
    if progress:
        progress(counts[True] + counts[False] + counts[None])


def purge_fs_sessions(folder):
    """Delete every session file of ``folder``; return how many went."""
    deleted = 0
    for _sid, path in session_files(folder):
        try:
            os.unlink(path)
            deleted += 1
        except OSError as error:
            _logger.warning("could not delete session file %s: %s", os.path.basename(path), error)
    return deleted
