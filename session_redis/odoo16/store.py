"""The store as Odoo 16 and later see it: Odoo's vendored ``SessionStore``
of ``odoo.http.Session``\\ s, which save when ``is_dirty``, rotate through
the store, and (18+) carry 84-character ids whose first 42 characters name
a device.

Where Odoo's own filesystem store sweeps its folder (``vacuum``) or globs
it (``delete_from_identifiers``), this one lets Redis expire keys and asks
the device index: nothing here scans the keyspace.
"""

import logging
import re

from odoo import http
from odoo.service import security
from odoo.tools._vendor.sessions import SessionStore

from .. import series
from ..core.client import REDIS_ERRORS
from ..core.settings import DEFAULT_EXPIRATION
from ..core.store import HEX_ID, RedisSessionStore

_logger = logging.getLogger(__name__)

# Odoo 18's ids: 84 url-safe base64 characters, the first 42 a device's.
LONG_IDS = series.MAJOR >= 18
B64_ID = re.compile(r"[A-Za-z0-9_-]{84}")
IDENTIFIER_LENGTH = 42
MAX_INACTIVITY = "sessions.max_inactivity_seconds"


class RedisSession(http.Session):
    """Odoo's session, with a slot for what the store read.

    Odoo's ``Session.__setattr__`` keeps any name that is not in
    ``self.__slots__`` as a session key, and ``self.__slots__`` is this
    class's: the same rule is applied here with Odoo's slots and this one."""

    __slots__ = ("_redis_loaded",)
    ATTRIBUTES = frozenset(http.Session.__slots__) | {"_redis_loaded"}

    def __setattr__(self, key, value):
        if key in self.ATTRIBUTES:
            object.__setattr__(self, key, value)
        else:
            self[key] = value


class Odoo16SessionStore(RedisSessionStore, SessionStore):
    """:class:`~session_redis.core.store.RedisSessionStore` with the methods
    Odoo 16, 17 and 18 call on ``root.session_store``."""

    save_flag = "is_dirty"
    renew_missing = True  # Odoo puts the requested id back on the session itself
    skip_default_sessions = False  # Odoo saves only what changed (is_dirty)
    id_pattern = B64_ID if LONG_IDS else HEX_ID
    identifier_length = IDENTIFIER_LENGTH if LONG_IDS else 0
    odoo_lifetime = None  # sessions.max_inactivity_seconds, as vacuum() last heard it

    if LONG_IDS:

        def generate_key(self, salt=None):
            """Odoo's own 84-character id."""
            return http.FilesystemSessionStore.generate_key(self, salt)

    def rotate(self, session, env):
        """A new id for ``session``: every key of the old one is deleted, the
        session token is computed again for the new id, and it is saved."""
        self.delete(session)
        session.sid = self.generate_key()
        if session.uid and env:
            session.session_token = security.compute_session_token(session, env)
        session.should_rotate = False
        self.save(session)

    def vacuum(self, max_lifetime=http.SESSION_LIFETIME):
        """Odoo's session garbage collection (``ir.http._gc_sessions``):
        Redis expires the keys by itself. Odoo passes its
        ``sessions.max_inactivity_seconds``: remembered, for the saves of
        this process that cannot read it (see :meth:`default_expiration`)."""
        self.odoo_lifetime = max_lifetime

    def default_expiration(self):
        """Without ``ODOO_SESSION_REDIS_EXPIRATION``, a logged-in session
        lives as long as Odoo's own ``sessions.max_inactivity_seconds`` of
        the request's database says (Odoo's default: 7 days)."""
        request = http.request
        env = getattr(request, "env", None) if request else None
        if env is not None and not env.cr.closed:
            try:
                return int(env["ir.config_parameter"].sudo().get_param(MAX_INACTIVITY, http.SESSION_LIFETIME))
            except ValueError:
                pass  # Odoo itself falls back to its default then
        return self.odoo_lifetime or DEFAULT_EXPIRATION

    def default_anonymous_expiration(self):
        """Odoo's own store keeps every session as long, user or not."""
        return self.default_expiration()

    def delete_from_identifiers(self, identifiers):
        """End every session of these device identifiers (Odoo 18's device
        revocation), through the device index. An identifier that is not
        42 characters of an id's alphabet ends nothing."""
        self._call("delete", lambda: self.end_identifiers(identifiers))

    def get_missing_session_identifiers(self, identifiers):
        """The identifiers with no stored session (later Odoo 18 and 19
        mark their devices revoked). When Redis fails, none: a store that
        cannot look must not have every device marked revoked."""
        try:
            return self.missing_identifiers(identifiers)
        except REDIS_ERRORS as error:
            _logger.warning("device sessions not checked, Redis unavailable: %s", error)
            return set()
