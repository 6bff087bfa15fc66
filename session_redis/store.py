"""RedisSessionStore: werkzeug's SessionStore API on top of Redis.

Each session is one Redis string ``session:<sid>`` (``session:<prefix>:<sid>``
with a prefix) holding JSON (see :mod:`codec`), written together with its
time-to-live in a single ``SET ... EX`` so that no key ever lives without
one. Redis expires the keys: there is nothing to garbage-collect.

One Redis command per request: Odoo 11 marks the session modified on almost
every request, so the store remembers what it read and skips a save that
would write the same bytes. With sliding expiry the idle timeout is pushed
back by such a rewrite at most once per touch interval, timestamped in the
value itself (``_session_redis``: created, touched) so that no extra TTL
command is needed to know when.

Usage::

    store = RedisSessionStore(redis_client, session_class=OpenERPSession,
                              prefix="shop", expiration=7 * 86400,
                              expiration_anonymous=3 * 3600)
    session = store.get(sid)      # a new session if sid is unknown or bad
    store.save(session)
"""

import collections
import logging
import re
import time

from werkzeug.contrib.sessions import SessionStore
from werkzeug.exceptions import ServiceUnavailable

from .client import REDIS_ERRORS
from .codec import CorruptData, decode_session, encode_session
from .store_api import NotOfferedByRedisStore

_logger = logging.getLogger(__name__)

# werkzeug's own pattern ends with "$", which also accepts a trailing newline.
SESSION_ID = re.compile(r"[a-f0-9]{40}")
SCAN_BATCH = 1000
META = "_session_redis"

# What get() saw, kept on the session for save(): the sid, the JSON body
# read (without the times), the session's creation and last touch (Unix
# seconds), and whether it came from the older module's key.
Loaded = collections.namedtuple("Loaded", "sid body created touched legacy")


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


def legacy_session_key(sid, prefix):
    """Where camptocamp's session_redis kept a prefixed session."""
    return "session::%s:%s" % (prefix, sid)


def ttl_for(session, expiration, expiration_anonymous):
    """Seconds to keep ``session``: its own ``expiration`` if it has a valid
    one, else the logged-in or the anonymous default."""
    own = session.get("expiration")
    if own is not None:
        if isinstance(own, int) and not isinstance(own, bool) and own > 0:
            return own
        _logger.warning("session expiration %r ignored: not a positive whole number of seconds", own)
    return expiration if session.get("uid") else expiration_anonymous


def with_times(body, created, touched):
    """Stored bytes: the session's canonical JSON ``body`` with the times
    appended as its last member, so that :func:`body_of` can cut them off
    again and a save can compare bodies without encoding twice."""
    times = '"%s":{"created":%r,"touched":%r}}' % (META, round(created, 3), round(touched, 3))
    return body[:-1] + (b"," if body != b"{}" else b"") + times.encode("ascii")


def body_of(raw):
    """The body :func:`with_times` was given, or None for a value written
    otherwise (by the older module, say): such a value is always rewritten."""
    cut = raw.rfind(b'"%s":{' % META.encode("ascii"))
    if cut < 1 or raw[cut - 1 : cut] not in (b",", b"{"):
        return None
    return raw[: cut - 1] + b"}" if raw[cut - 1 : cut] == b"," else b"{}"


def encode_with_times(data, created, touched):
    """The stored bytes of session ``data``."""
    return with_times(encode_session(data), created, touched)


class RedisSessionStore(SessionStore):
    """Sessions in Redis.

    :param redis: a redis-py client (plain, Sentinel master or Cluster).
    :param session_class: the session class (Odoo's ``OpenERPSession``).
    :param prefix: optional namespace inside the ``session:`` keys.
    :param expiration: seconds a logged-in session lives (idle, if sliding).
    :param expiration_anonymous: the same for a session without user.
    :param sliding: push the expiry back while the session is used.
    :param touch_interval: push it back at most this often (seconds); never
        more than a tenth of the session's expiration.
    :param max_lifetime: seconds after creation when a session ends however
        active it is (None: no limit).
    :param max_size: bytes; a larger session is neither saved nor loaded.
    :param path: local folder Odoo uses for the files of interrupted uploads.
    :param clock: returns the time in seconds (tests pass their own).
    """

    def __init__(
        self,
        redis,
        session_class=None,
        prefix="",
        expiration=7 * 86400,
        expiration_anonymous=3 * 3600,
        sliding=True,
        touch_interval=60,
        max_lifetime=None,
        max_size=1024 * 1024,
        path=None,
        clock=time.time,
    ):
        super(RedisSessionStore, self).__init__(session_class)
        self.redis = redis
        self.prefix = prefix
        self.expiration = expiration
        self.expiration_anonymous = expiration_anonymous
        self.sliding = sliding
        self.touch_interval = touch_interval
        self.max_lifetime = max_lifetime
        self.max_size = max_size
        self.path = path
        self.clock = clock

    def key(self, sid):
        return session_key(sid, self.prefix)

    def is_valid_key(self, key):
        return isinstance(key, str) and SESSION_ID.fullmatch(key) is not None

    def get(self, sid):
        if not self.is_valid_key(sid):
            return self.new()
        raw, legacy = self._read(sid)
        if raw is None:
            return self.new()
        if len(raw) > self.max_size:
            _logger.warning(
                "session %s... is %d bytes, over the %d bytes limit: starting a new " "session",
                sid[:8],
                len(raw),
                self.max_size,
            )
            return self.new()
        try:
            data = decode_session(raw)
            created, touched = _times(data.pop(META, None))
        except CorruptData as error:
            _logger.warning("session %s... unreadable (%s): starting a new session", sid[:8], error)
            return self.new()
        now = self.clock()
        created = created or now
        if self.max_lifetime and now - created >= self.max_lifetime:
            self._call("delete", lambda: self.redis.delete(self.key(sid)))
            return self.new()
        session = self.session_class(data, sid, False)
        _remember(session, Loaded(sid, body_of(raw), created, touched, legacy))
        if self._touch_due(touched, now, self._expiration(session)):
            session.modified = True  # makes Odoo call save(), which rewrites it
        return session

    def save(self, session):
        now = self.clock()
        loaded = _loaded(session)
        created = loaded.created if loaded else now
        expiration = self._expiration(session)
        ttl = expiration
        if self.max_lifetime:
            ttl = min(ttl, int(created + self.max_lifetime - now))
            if ttl <= 0:
                self.delete(session)
                return
        body = encode_session(session)
        if loaded and body == loaded.body and not self._touch_due(loaded.touched, now, expiration):
            return  # the same session as in Redis, and no touch due
        raw = with_times(body, created, now)
        if len(raw) > self.max_size:
            _logger.error(
                "session %s... not saved: %d bytes, over the %d bytes limit " "(ODOO_SESSION_REDIS_MAX_SIZE)",
                session.sid[:8],
                len(raw),
                self.max_size,
            )
            return
        if loaded and loaded.legacy:  # move it from the older module's key
            self._call("save", lambda: self._move(session.sid, raw, ttl))
        else:
            key = self.key(session.sid)  # SET ... EX as it is: redis-py's set() parses options first
            self._call("save", lambda: self.redis.execute_command("SET", key, raw, "EX", ttl))
        _remember(session, Loaded(session.sid, body, created, now, False))

    def delete(self, session):
        self._call("delete", lambda: self.redis.delete(self.key(session.sid)))

    def list(self):
        """Ids of the stored sessions of this prefix (SCAN, never KEYS)."""
        start = self.key("")
        pattern = glob_escape(start) + "*"
        sids = []
        for key in self.redis.scan_iter(match=pattern, count=SCAN_BATCH):
            sid = key.decode("utf-8", "replace")[len(start) :]
            if self.is_valid_key(sid):
                sids.append(sid)
        return sids

    def _expiration(self, session):
        return ttl_for(session, self.expiration, self.expiration_anonymous)

    def _read(self, sid):
        """``(raw bytes or None, from the older module's key?)``."""
        raw = self._call("load", lambda: self.redis.get(self.key(sid)))
        if raw is None and self.prefix:
            raw = self._call("load", lambda: self.redis.get(legacy_session_key(sid, self.prefix)))
            return raw, raw is not None
        return raw, False

    def _touch_due(self, touched, now, expiration):
        """Is it time to push the expiry back (sliding expiry only)?"""
        return self.sliding and now - touched >= min(self.touch_interval, expiration / 10.0)

    def _move(self, sid, raw, ttl):
        """Write under the documented key and drop the older module's, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.key(sid), raw, ex=ttl)
        pipe.delete(legacy_session_key(sid, self.prefix))
        pipe.execute()

    def _call(self, action, command):
        """Run ``command()``; a Redis failure becomes HTTP 503 and one log line.

        ``command`` must reach ``self.redis`` itself: a Cluster client is built
        on first use, so even looking up one of its methods can fail.
        """
        try:
            return command()
        except REDIS_ERRORS as error:
            _logger.error("session %s failed, Redis unavailable: %s", action, error)
            raise RedisUnavailable()

    # --- Other addons' calls (issue 11): Odoo's filesystem-store API and a last-activity record ---

    def get_session_filename(self, sid):
        """Odoo's filesystem store names each session's file; there is none here."""
        raise NotOfferedByRedisStore("get_session_filename()", "sessions are Redis keys, not files")

    def activity_key(self, sid):
        """Key of the session's last-activity record (``<session key>:activity``).

        Not a session key: the suffix keeps it out of :meth:`list` and of
        every ``session:[<prefix>:]<sid>`` match, and inside ``~session:*`` ACLs."""
        return self.key(sid) + ":activity"

    def last_activity(self, session):
        """Unix time of the user's last recorded activity in ``session``, or
        None if none is recorded for the session's current user (a record of
        the anonymous visitor before a login does not count)."""
        raw = self._call("load", lambda: self.redis.get(self.activity_key(session.sid)))
        if raw is None:
            return None
        try:
            uid, at = raw.decode("ascii").split(" ")
            at = float(at)
        except (UnicodeDecodeError, ValueError):
            _logger.warning("session %s... activity record unreadable: ignored", session.sid[:8])
            return None
        return at if uid == str(session.get("uid") or 0) else None

    def record_activity(self, session, keep=0):
        """Record now as the user's last activity: one ``SET ... EX``, kept
        as long as the session lives (at least ``keep`` seconds)."""
        if not self.is_valid_key(session.sid):
            return
        ttl = max(self._expiration(session), int(keep) + 1)
        value = "%s %.3f" % (session.get("uid") or 0, self.clock())
        key = self.activity_key(session.sid)
        self._call("save", lambda: self.redis.execute_command("SET", key, value, "EX", ttl))


def _times(meta):
    """``(created, touched)`` from a stored value; zeros when absent
    (a session written by the older module or by hand)."""
    if meta is None:
        return 0, 0
    try:
        return float(meta["created"]), float(meta["touched"])
    except (TypeError, KeyError, ValueError):
        raise CorruptData("bad %s metadata" % META)


def _remember(session, loaded):
    # object.__setattr__: OpenERPSession would store the attribute as a session key
    try:
        object.__setattr__(session, "_redis_loaded", loaded)
    except AttributeError:  # a session class without __dict__: every save writes
        pass


def _loaded(session):
    loaded = getattr(session, "__dict__", {}).get("_redis_loaded")
    return loaded if loaded is not None and loaded.sid == session.sid else None


def glob_escape(text):
    """Escape the characters Redis's MATCH treats as patterns."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
