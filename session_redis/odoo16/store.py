"""The store as Odoo 16 and later see it: Odoo's vendored ``SessionStore``
of ``odoo.http.Session``\\ s, which save when ``is_dirty``, rotate through
the store (softly too, on 19), and (18+) carry 84-character ids whose
first 42 characters name a device.

Where Odoo's own filesystem store sweeps its folder (``vacuum``) or globs
it (``delete_from_identifiers``), this one lets Redis expire keys and asks
the device index: nothing here scans the keyspace.
"""

import base64
import hashlib
import logging
import math
import re
import time

from cryptography.fernet import Fernet, InvalidToken
from odoo import http
from odoo.service import security
from odoo.tools._vendor.sessions import SessionStore

from .. import series
from ..core.client import REDIS_ERRORS, error_text
from ..core.settings import DEFAULT_EXPIRATION
from ..core.store import ENDED_BUT_UNAVAILABLE, HEX_ID, RedisSessionStore, RedisUnavailable, short_hash

_logger = logging.getLogger(__name__)

# Odoo 18's ids: 84 url-safe base64 characters, the first 42 a device's.
LONG_IDS = series.MAJOR >= 18
B64_ID = re.compile(r"[A-Za-z0-9_-]{84}")
IDENTIFIER_LENGTH = 42
# Odoo 19: rotation restarts the session's create_time (soft rotation counts
# from it), and a malformed device identifier is an error.
ROTATION_RESETS_CREATE_TIME = STRICT_IDENTIFIERS = series.MAJOR >= 19
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
    Odoo 16 to 19 call on ``root.session_store``."""

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

    def contents(self, session):
        """The dict behind Odoo's session (its ``_Session__data`` slot, on
        16 to 19): read through the session's mapping methods, a save
        costs 11 Python-level ``__getitem__`` calls more."""
        return session._Session__data

    def loaded_session(self, data, sid):
        """Odoo's session of ``data``, its dict taken as it is: Odoo's
        constructor copies each value through ``pickle`` (16, 17) or JSON
        (18+), which for values just decoded from JSON, in a dict nothing
        else holds, makes equal values (about a sixth of what reading a
        session costs the store)."""
        session = self.session_class({}, sid, False)
        session._Session__data = data
        return session

    def rotate(self, session, env, soft=False):
        """A new id for ``session``, its session token computed again.

        Hard (login, logout; every series): every key of the old id is
        deleted. Soft (Odoo 19, a logged-in session older than Odoo's
        ``SESSION_ROTATION_INTERVAL``): the device identifier is kept, and
        the old id stays usable for Odoo's ``SESSION_DELETION_TIMER``, as a
        session pointing at the new one (``next_sid``) whose key expires
        then; the new session carries ``gc_previous_sessions`` until
        :meth:`delete_old_sessions` ends the old ones. Both are written in
        one save that writes neither if the old id ended meanwhile."""
        predecessor = None
        if soft:
            identifier = session.sid[: self.identifier_length]
            recent = self.get(session.sid)
            if "next_sid" in recent:  # a concurrent request rotated it already
                session.sid = recent["next_sid"]
                return
            next_sid = identifier + self.generate_key()[self.identifier_length :]
            deletion_time = time.time() + http.SESSION_DELETION_TIMER
            old = dict(self.contents(session), next_sid=next_sid, deletion_time=deletion_time)
            predecessor = self.predecessor(session, old)
            session["gc_previous_sessions"] = True
            session.sid = next_sid
        else:
            self.delete(session)
            session.sid = self.generate_key()
        if session.uid and env:
            session.session_token = security.compute_session_token(session, env)
        session.should_rotate = False
        if ROTATION_RESETS_CREATE_TIME:
            session["create_time"] = time.time()
        try:
            self.save(session, predecessor)
        except RedisUnavailable:
            if soft:
                raise
            # the old id's keys are gone (Redis takes DEL even when full): say so
            raise RedisUnavailable(description=ENDED_BUT_UNAVAILABLE)

    def sealed(self, data, sid):
        """With hashing, the new id a soft rotation leaves in the old
        session (``next_sid``, which Odoo's rotation and websocket follow)
        is stored encrypted (Fernet) under a key derived from the old id,
        which only its holder has: a copy of Redis cannot follow it to the
        live session."""
        next_sid = data.get("next_sid")
        if not (self.hash_ids and isinstance(next_sid, str) and self.is_valid_key(next_sid)):
            return data
        sealed = Fernet(_sealing_key(sid)).encrypt(next_sid.encode("ascii")).decode("ascii")
        return dict(data, next_sid=sealed)

    def unsealed(self, data, sid):
        """``next_sid`` as Odoo reads it again: decrypted with the id the
        session was loaded by (with hashing on or off since). One that does
        not decrypt is dropped: the next rotation makes a new one."""
        stored = data.get("next_sid")
        if isinstance(stored, str) and not self.is_valid_key(stored):
            try:
                data["next_sid"] = Fernet(_sealing_key(sid)).decrypt(stored.encode("ascii")).decode("ascii")
            except (InvalidToken, ValueError, UnicodeError):
                _logger.warning("session %s: its next id does not decrypt: dropped", short_hash(sid))
                del data["next_sid"]
        return data

    def delete_old_sessions(self, session):
        """Odoo 19, on each authenticated request: once the grace period of
        a soft rotation is over, end every other session of the device
        (through the device index) and keep this one."""
        if (
            "gc_previous_sessions" in session
            and session["create_time"] + http.SESSION_DELETION_TIMER < time.time()
        ):
            identifier = session.sid[: self.identifier_length]
            self.guarded("delete", lambda: self.end_identifiers([identifier], keep=session.sid))
            del session["gc_previous_sessions"]
            self.save(session)

    def ttl(self, data):
        """A session that Odoo 19 keeps only until its ``deletion_time`` (the
        old id after a soft rotation) expires then in Redis too."""
        ttl = super().ttl(data)
        deletion_time = data.get("deletion_time")
        if isinstance(deletion_time, (int, float)) and not isinstance(deletion_time, bool):
            ttl = max(1, min(ttl, int(math.ceil(deletion_time - self.clock()))))
        return ttl

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
        42 characters of an id's alphabet ends nothing; Odoo 19 refuses it
        (ValueError), as its own store does."""
        if STRICT_IDENTIFIERS and not all(self.is_identifier(item) for item in identifiers):
            raise ValueError("session_redis: a device identifier is 42 characters of a session id")
        self.guarded("delete", lambda: self.end_identifiers(identifiers))

    def get_missing_session_identifiers(self, identifiers):
        """The identifiers with no stored session (Odoo 19's device clean-up
        marks their devices revoked); one that is no identifier at all has
        none. When Redis fails, none: a store that cannot look must not have
        every device marked revoked."""
        identifiers = set(identifiers)
        try:
            found = self.missing_identifiers(identifiers)
        except REDIS_ERRORS as error:
            _logger.warning("device sessions not checked, Redis unavailable: %s", error_text(error))
            return set()
        return found | {item for item in identifiers if not self.is_identifier(item)}


def _sealing_key(sid):
    """A Fernet key only the holder of session id ``sid`` can derive (Redis
    holds no more than its SHA-256, and this hash is a different one)."""
    digest = hashlib.sha256(b"session_redis next_sid\0" + sid.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest)
