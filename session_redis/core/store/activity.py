"""For other addons: a last-activity record per session (OCA's
auth_session_timeout measures idleness with it, across nodes), and a clear
refusal of what only Odoo's filesystem store can offer.

The record is its own key, ``session:[<p>:]<entry>:activity``, written
only by the addons that ask for it, so that other sites pay nothing.
"""

import logging
from typing import Any, Optional

from ..layout import activity_key
from ..store_api import NotOfferedByRedisStore
from .names import short_hash
from .parts import StoreParts
from .values import loaded_state, owner_of

_logger = logging.getLogger(__name__)


class ActivityRecords(StoreParts):
    """Last-activity records, for :class:`~.session_store.RedisSessionStore`."""

    def get_session_filename(self, sid: str) -> str:
        """Odoo's filesystem store names each session's file; there is none here."""
        raise NotOfferedByRedisStore("get_session_filename()", "sessions are Redis keys, not files")

    def last_activity(self, session: Any) -> Optional[float]:
        """Unix time of the user's last recorded activity in ``session``, or
        None if none is recorded for the session's current user (a record of
        the anonymous visitor before a login does not count). With hashing,
        a record under the plain id (a session not moved yet) counts too.
        A logged-in session without a record was last active when it was
        last written (a file's modification time, with files): Odoo 16+
        gives the session its new id after the login has run."""
        raw = self.guarded("load", lambda: self.redis.get(self.names.activity_key(session.sid)))
        if raw is None and self.names.hash_ids:
            raw = self.guarded("load", lambda: self.redis.get(activity_key(session.sid, self.names.prefix)))
        if raw is None:
            loaded = loaded_state(session)
            if (
                loaded is None
                or loaded.owner is None
                or loaded.owner != owner_of(self.contents(session))
                or not loaded.touched
            ):
                return None
            return loaded.touched
        try:
            uid, at = raw.decode("ascii").split(" ")
            at = float(at)
        except (UnicodeDecodeError, ValueError):
            _logger.warning("session %s activity record unreadable: ignored", short_hash(session.sid))
            return None
        return at if uid == str(session.get("uid") or 0) else None

    def record_activity(self, session: Any, keep: float = 0) -> None:
        """Record now as the user's last activity: one ``SET ... EX``, kept
        as long as the session lives (at least ``keep`` seconds)."""
        if not self.names.is_id(session.sid):
            return
        ttl = max(self.ttl(session), int(keep) + 1)
        value = "%s %.3f" % (session.get("uid") or 0, self.clock())
        key = self.names.activity_key(session.sid)
        self.guarded("save", lambda: self.redis.execute_command("SET", key, value, "EX", ttl))
