"""Move a site's existing filesystem sessions when it switches to Redis.

Odoo's session folder holds, depending on the series:

- Odoo 11: ``werkzeug_<sid>.sess`` files, pickled dicts;
- Odoo 16 and 17: ``<sid[:2]>/<sid>``, pickled dicts (Odoo's restricted
  pickle writes plain pickles);
- Odoo 18 and later: ``<sid[:2]>/<sid>``, JSON objects (84-character ids).

:func:`session_files` finds all three layouts and :func:`read_session_file`
reads both formats, so a folder is moved whatever Odoo wrote it.

``copy_fs_sessions`` streams Odoo's session folder into Redis in batches,
through the store's :meth:`~session_redis.core.store.RedisSessionStore.add_many`
(a pipeline of ``SET ... EX ... NX`` per batch): memory stays flat however
many files there are, and a session that already exists in Redis (newer,
because users kept working) is never overwritten by its old file.
``purge_fs_sessions`` deletes the session files.

Reading those files means unpickling them: they are Odoo's own files on
the local disk, never data that came from Redis.
"""

import collections
import json
import logging
import os
import pickle
import re
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from .batches import BATCH, batches
from .store import RedisSessionStore, short_hash

_logger = logging.getLogger(__name__)

SESSION_FILE = re.compile(r"werkzeug_([a-f0-9]{40})\.sess")
# Odoo 16+: a folder named after the first two characters of the id.
SESSION_ID = re.compile(r"[a-f0-9]{40}|[A-Za-z0-9_-]{84}")

CopyResult = collections.namedtuple("CopyResult", "copied already_in_redis unreadable too_large")


def session_files(folder: str) -> Iterator[Tuple[str, str]]:
    """Yield ``(sid, path)`` for each session file in ``folder``, in any of
    Odoo's layouts (temporary files of an interrupted write are left out)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            match = SESSION_FILE.fullmatch(entry.name)
            if match and entry.is_file():
                yield match.group(1), entry.path
            elif len(entry.name) == 2 and entry.is_dir(follow_symlinks=False):
                yield from _scattered(entry)


def _scattered(subfolder: "os.DirEntry[str]") -> Iterator[Tuple[str, str]]:
    with os.scandir(subfolder.path) as entries:
        for entry in entries:
            name = entry.name
            if SESSION_ID.fullmatch(name) and name[:2] == subfolder.name and entry.is_file():
                yield name, entry.path


def read_session_file(path: str) -> Dict[str, Any]:
    """The session dict in ``path`` (JSON or pickle); ValueError if it is
    not one."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
        data = json.loads(content.decode("utf-8")) if content[:1] == b"{" else pickle.loads(content)
    except OSError:
        raise
    except Exception as error:  # a torn or foreign file: any decoding error
        raise ValueError("%s: %s" % (type(error).__name__, error))
    if not isinstance(data, dict):
        raise ValueError("holds a %s, not a session" % type(data).__name__)
    return data


def copy_fs_sessions(
    folder: str,
    store: RedisSessionStore,
    batch: int = BATCH,
    progress: Optional[Callable[[int], None]] = None,
) -> CopyResult:
    """Copy every readable session file of ``folder`` into ``store``;
    ``progress(sessions sent so far)`` is called after each batch."""
    counts: collections.Counter = collections.Counter()
    for files in batches(session_files(folder), batch):
        readable = []
        for sid, path in files:
            try:
                readable.append((sid, read_session_file(path)))
            except (OSError, ValueError) as error:
                counts["unreadable"] += 1
                _logger.warning(
                    "skipped the unreadable file of session %s: %s", short_hash(sid), reason(error)
                )
        # by outcome: True copied, False kept (already in Redis), None too large
        counts.update(store.add_many(readable))
        if progress:
            progress(counts[True] + counts[False] + counts[None])
    return CopyResult(counts[True], counts[False], counts["unreadable"], counts[None])


def purge_fs_sessions(folder: str) -> int:
    """Delete every session file of ``folder``; return how many went."""
    deleted = 0
    for sid, path in session_files(folder):
        try:
            os.unlink(path)
            deleted += 1
        except OSError as error:
            _logger.warning("could not delete the file of session %s: %s", short_hash(sid), reason(error))
    return deleted


def reason(error: Exception) -> str:
    """What went wrong with a session file, without its name: the name
    holds the whole session id, which logs show only the start of."""
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error)
