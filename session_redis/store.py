"""RedisSessionStore: werkzeug's SessionStore API on top of Redis.

Each session is one Redis string ``session:<sid>`` (``session:<prefix>:<sid>``
with a prefix) holding JSON (see :mod:`codec`), written together with its
time-to-live in a single ``SET ... EX`` so that no key ever lives without
one. Redis expires the keys: there is nothing to garbage-collect.

Usage::

    store = RedisSessionStore(redis_client, session_class=OpenERPSession,
                              prefix="shop", expiration=7 * 86400,
                              expiration_anonymous=3 * 3600)
    session = store.get(sid)      # a new session if sid is unknown or bad
    store.save(session)
"""
import logging
import re

from redis.exceptions import RedisError
from werkzeug.contrib.sessions import SessionStore
from werkzeug.exceptions import ServiceUnavailable

from .codec import CorruptData, decode_session, encode_session

_logger = logging.getLogger(__name__)

# werkzeug's own pattern ends with "$", which also accepts a trailing newline.
SESSION_ID = re.compile(r"[a-f0-9]{40}")
SCAN_BATCH = 1000


class RedisUnavailable(ServiceUnavailable):
    """Redis could not be reached: the request answers HTTP 503.

    werkzeug HTTP exceptions raised while Odoo loads or saves the session
    become that response, so the user sees a short "try again" page rather
    than a traceback, and the worker is free again at once.
    """

    description = "Sessions are temporarily unavailable. Please try again in a moment."


def session_key(sid, prefix=""):
    """The Redis key of session ``sid``: ``session:[<prefix>:]<sid>``."""
    return "session:%s:%s" % (prefix, sid) if prefix else "session:%s" % sid


def ttl_for(session, expiration, expiration_anonymous):
    """Seconds to keep ``session``: its own ``expiration`` if it has a valid
    one, else the logged-in or the anonymous default."""
    own = session.get("expiration")
    if own is not None:
        if isinstance(own, int) and not isinstance(own, bool) and own > 0:
            return own
        _logger.warning("session expiration %r ignored: not a positive whole number of seconds", own)
    return expiration if session.get("uid") else expiration_anonymous


class RedisSessionStore(SessionStore):
    """Sessions in Redis.

    :param redis: a ``redis.Redis`` (or Sentinel master) client.
    :param session_class: the session class (Odoo's ``OpenERPSession``).
    :param prefix: optional namespace inside the ``session:`` keys.
    :param expiration: seconds a logged-in session lives.
    :param expiration_anonymous: seconds a session without user lives.
    :param path: local folder Odoo uses for the files of interrupted uploads.
    """

    def __init__(self, redis, session_class=None, prefix="", expiration=7 * 86400,
                 expiration_anonymous=3 * 3600, path=None):
        super(RedisSessionStore, self).__init__(session_class)
        self.redis = redis
        self.prefix = prefix
        self.expiration = expiration
        self.expiration_anonymous = expiration_anonymous
        self.path = path

    def key(self, sid):
        return session_key(sid, self.prefix)

    def is_valid_key(self, key):
        return isinstance(key, str) and SESSION_ID.fullmatch(key) is not None

    def get(self, sid):
        if not self.is_valid_key(sid):
            return self.new()
        raw = self._call("load", self.redis.get, self.key(sid))
        if raw is None:
            return self.new()
        try:
            data = decode_session(raw)
        except CorruptData as error:
            _logger.warning("session %s... unreadable (%s): starting a new session", sid[:8], error)
            return self.new()
        return self.session_class(data, sid, False)

    def save(self, session):
        ttl = ttl_for(session, self.expiration, self.expiration_anonymous)
        self._call("save", self.redis.set, self.key(session.sid), encode_session(session), ex=ttl)

    def delete(self, session):
        self._call("delete", self.redis.delete, self.key(session.sid))

    def list(self):
        """Ids of the stored sessions of this prefix (SCAN, never KEYS)."""
        start = self.key("")
        pattern = _glob_escape(start) + "*"
        sids = []
        for key in self.redis.scan_iter(match=pattern, count=SCAN_BATCH):
            sid = key.decode("utf-8", "replace")[len(start):]
            if self.is_valid_key(sid):
                sids.append(sid)
        return sids

    def _call(self, action, command, *args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RedisError as error:
            _logger.error("session %s failed, Redis unavailable: %s", action, error)
            raise RedisUnavailable()


def _glob_escape(text):
    """Escape the characters Redis's MATCH treats as patterns."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
