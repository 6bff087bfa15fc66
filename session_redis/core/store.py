"""RedisSessionStore: Odoo's session-store API on top of Redis, knowing no Odoo.

Each session is one Redis string (see :mod:`.layout` for every key) holding
JSON (see :mod:`.codec`), written together with its time-to-live in a
single ``SET ... EX`` so that no key ever lives without one. Redis expires
the keys: there is nothing to garbage-collect.

This class is the one place that reads and writes those keys: the start-up
migration and the operator jobs go through its bulk methods
(:meth:`~RedisSessionStore.scan`, :meth:`~RedisSessionStore.add_many`,
:meth:`~RedisSessionStore.delete_many`, ...). A prefixed session may still
live under the key of the older camptocamp module: it is read from there,
moved on its next save, and every way a session ends deletes both keys.

One Redis command per request: the store remembers what it read and skips
a save that would write the same bytes. With sliding expiry the idle
timeout is pushed back by such a rewrite at most once per touch interval,
timestamped in the value itself so that no extra TTL command is needed.

The session class and its "please save me" flag are the caller's: each
Odoo generation's glue (``session_redis.odoo11``, ``session_redis.odoo16``)
subclasses this store with its own. Usage::

    store = RedisSessionStore(redis_client, session_class=Session,
                              prefix="shop", expiration=7 * 86400)
    session = store.get(sid)      # a new session if sid is unknown or bad
    store.save(session)
"""

import collections
import hashlib
import logging
import os
import re
import time

from redis.exceptions import ResponseError
from werkzeug.exceptions import ServiceUnavailable

from .batches import BATCH, batches
from .client import REDIS_ERRORS, error_text
from .codec import CorruptData, decode_session, encode_session
from .layout import (
    META,
    activity_key,
    body_of,
    device_index_key,
    glob_escape,
    keys_of,
    legacy_session_key,
    session_key,
    times_of,
    user_index_key,
    with_times,
)
from .settings import DEFAULT_EXPIRATION, DEFAULT_EXPIRATION_ANONYMOUS, DEFAULTS, STORE_FIELDS
from .store_api import NotOfferedByRedisStore

_logger = logging.getLogger(__name__)

# Session ids as Odoo 11 to 17 make them (werkzeug's own pattern ends with
# "$", which also accepts a trailing newline: ids are always fullmatched).
HEX_ID = re.compile(r"[a-f0-9]{40}")
SCAN_BATCH = 1000
# What a session key holding another Redis type reads as: no JSON session.
NOT_A_STRING = b"<a Redis value that is not a string>"

# What get() saw, kept on the session for save(): the sid, the JSON body
# read (without the times), the session's creation and last touch (Unix
# seconds), whether it came from the older module's key, its owner:
# ``(db, uid)`` of a logged-in session, else None, and until when its
# indexes live at least (Unix seconds; 0: unknown).
Loaded = collections.namedtuple("Loaded", "sid body created touched legacy owner indexed")

# A user's session as the per-user index lists it: Unix times, seconds left.
UserSession = collections.namedtuple("UserSession", "sid created touched expires_in login_info")

# Where the Odoo glue records, at login, the client's IP address and browser.
LOGIN_INFO = "session_redis_login"

# What Odoo puts in every session by itself: a session with nothing else is
# not worth a write (see RedisSessionStore.save). ``db``, the context's
# ``lang`` and the website's ``geoip`` (``_geoip`` from Odoo 16 on) are
# derived from the request again whenever they are missing; any other key
# counts only with a value (the website sets ``sale_order_id`` to None while
# there is no cart; Odoo 18 starts every session with an empty ``_trace``).
ODOO_DERIVED_KEYS = frozenset(["db", "context", "geoip", "_geoip"])
ODOO_DEFAULT_CONTEXT_KEYS = frozenset(["lang"])


class Unmetered(object):
    """What the store reports as it works, for metrics; this one ignores it.

    :mod:`session_redis.metrics` counts the same calls. Reporting never
    sends anything to Redis.
    """

    def load(self, outcome):
        """A session was asked for: ``hit``, ``miss`` or ``refused`` (a
        malformed id, an unreadable or oversized value, a lifetime over)."""

    def save(self, outcome):
        """Odoo saved a session: ``written``, ``touched`` (only the expiry
        pushed back), ``unchanged`` (nothing sent) or ``ended`` (it ended
        while its request ran, and was not brought back)."""

    def delete(self):
        """A session ended."""

    def oversize(self):
        """A session over ``max_size`` was refused (saved or read)."""

    def unavailable(self):
        """Redis failed: the request answers 503."""

    def redis_call(self, action, seconds):
        """One round trip of ``action`` (load, save, delete) took ``seconds``."""


class RedisUnavailable(ServiceUnavailable):
    """Redis could not be reached: the request answers HTTP 503.

    werkzeug HTTP exceptions raised while Odoo loads or saves the session
    become that response, so the user sees a short "try again" page rather
    than a traceback, and the worker is free again at once.
    """

    description = "Sessions are temporarily unavailable. Please try again in a moment."


def owner_of(data):
    """``(db, uid)`` of a logged-in session, None for an anonymous one."""
    uid, db = data.get("uid"), data.get("db")
    if isinstance(uid, int) and not isinstance(uid, bool) and uid > 0 and isinstance(db, str) and db:
        return db, uid
    return None


def ttl_for(session, expiration, expiration_anonymous):
    """Seconds to keep ``session``: its own ``expiration`` if it has a valid
    one, else the logged-in or the anonymous default."""
    return own_expiration(session) or (expiration if session.get("uid") else expiration_anonymous)


def own_expiration(session):
    """The ``expiration`` code put in ``session``, if it is a valid one."""
    own = session.get("expiration")
    if own is not None:
        if isinstance(own, int) and not isinstance(own, bool) and own > 0:
            return own
        _logger.warning("session expiration %r ignored: not a positive whole number of seconds", own)
    return None


def encode_with_times(data, created, touched, indexed=0):
    """The stored bytes of session ``data``."""
    return with_times(encode_session(data), created, touched, indexed)


class RedisSessionStore(object):
    """Sessions in Redis.

    :param redis: a redis-py client (plain, Sentinel master or Cluster).
    :param session_class: the session class, called as
        ``session_class(data, sid, new)``.
    :param prefix: optional namespace inside the ``session:`` keys.
    :param expiration: seconds a logged-in session lives (idle, if sliding);
        None: :meth:`default_expiration` (7 days unless the glue knows better).
    :param expiration_anonymous: the same for a session without user; None:
        :meth:`default_anonymous_expiration` (3 hours unless the glue knows better).
    :param sliding: push the expiry back while the session is used.
    :param touch_interval: push it back at most this often (seconds); never
        more than a tenth of the session's expiration.
    :param max_lifetime: seconds after creation when a session ends however
        active it is (None: no limit).
    :param max_size: bytes; a larger session is neither saved nor loaded.
    :param max_sessions_per_user: at a login beyond it, the user's oldest
        sessions end (None: no limit).
    :param path: local folder Odoo uses for the files of interrupted uploads.
    :param clock: returns the time in seconds (tests pass their own).
    :param metrics: told what happens, see :class:`Unmetered` (the default).

    Subclasses say what their sessions look like and how their Odoo
    expects the store to behave: :attr:`id_pattern` and :meth:`generate_key`
    (the ids), :attr:`save_flag` (the attribute that makes the caller save
    a session), :attr:`identifier_length` (Odoo 18+: the leading part of an
    id that names a device, indexed; 0: none), :attr:`renew_missing` (an
    unknown id gets a new session with a new id, rather than an empty one
    keeping it) and :attr:`skip_default_sessions` (a session never stored
    that holds only Odoo's defaults is not written, where Odoo asks to save
    every session it touched).
    """

    id_pattern = HEX_ID
    save_flag = "modified"
    identifier_length = 0
    renew_missing = False
    skip_default_sessions = True
    expire_options = None  # EXPIRE ... NX | GT (Redis 7.0+): asked on first use

    def __init__(
        self,
        redis,
        session_class=None,
        prefix=DEFAULTS["prefix"],
        expiration=DEFAULTS["expiration"],
        expiration_anonymous=DEFAULTS["expiration_anonymous"],
        sliding=DEFAULTS["sliding"],
        touch_interval=DEFAULTS["touch_interval"],
        max_lifetime=DEFAULTS["max_lifetime"],
        max_size=DEFAULTS["max_size"],
        max_sessions_per_user=DEFAULTS["max_sessions_per_user"],
        path=None,
        clock=None,
        metrics=None,
    ):
        self.redis = redis
        self.session_class = session_class
        self.prefix = prefix
        self.expiration = expiration
        self.expiration_anonymous = expiration_anonymous
        self.sliding = sliding
        self.touch_interval = touch_interval
        self.max_lifetime = max_lifetime
        self.max_size = max_size
        self.max_sessions_per_user = max_sessions_per_user
        self.path = path
        self.clock = clock or wall_clock
        self.metrics = metrics or Unmetered()

    @classmethod
    def from_settings(cls, redis, settings, session_class=None, path=None, metrics=None):
        """The store that :class:`~session_redis.core.settings.Settings` describe."""
        options = {field: getattr(settings, field) for field in STORE_FIELDS}
        return cls(redis, session_class=session_class, path=path, metrics=metrics, **options)

    def logged_in_expiration(self):
        """Seconds a logged-in session lives: the setting, else the default."""
        return self.expiration or self.default_expiration()

    def default_expiration(self):
        """Without ``ODOO_SESSION_REDIS_EXPIRATION``: Odoo's own lifetime
        where the glue can read it, 7 days here."""
        return DEFAULT_EXPIRATION

    def anonymous_expiration(self):
        """Seconds a session without user lives: the setting, else the default."""
        return self.expiration_anonymous or self.default_anonymous_expiration()

    def default_anonymous_expiration(self):
        return DEFAULT_EXPIRATION_ANONYMOUS

    def _ttl(self, data):
        """Seconds to keep session ``data`` (see :func:`ttl_for`); only the
        default that applies is looked up (on 16+ it is read from Odoo)."""
        own = own_expiration(data)
        if own:
            return own
        return self.logged_in_expiration() if data.get("uid") else self.anonymous_expiration()

    # --- the session-store API Odoo calls ---

    def key(self, sid):
        return session_key(sid, self.prefix)

    def is_valid_key(self, key):
        return isinstance(key, str) and self.id_pattern.fullmatch(key) is not None

    def generate_key(self, salt=None):
        """A new random session id (40 hex characters, as werkzeug's)."""
        return hashlib.sha1(os.urandom(32)).hexdigest()

    def new(self):
        """A new, empty session with a new id."""
        return self.session_class({}, self.generate_key(), True)

    def save_if_modified(self, session):
        if getattr(session, self.save_flag, False):
            self.save(session)

    def get(self, sid):
        """The stored session ``sid``. For an id that is well formed but not
        stored (expired, or never saved because it held nothing but Odoo's
        defaults), an empty new session: with :attr:`renew_missing` under a
        new id, else keeping the id, as Odoo 11's store does (the CSRF token
        of a form is derived from it; a login on it always gets a new id).
        A session idle for longer than its expiration now (a lifetime
        lowered since it was written) or past ``max_lifetime`` is ended."""
        if not self.is_valid_key(sid):
            self.metrics.load("refused")
            return self.new()
        raw, legacy = self._read(sid)
        if raw is None:
            self.metrics.load("miss")
            return self.new() if self.renew_missing else self.session_class({}, sid, True)
        if len(raw) > self.max_size:
            _logger.warning(
                "session %s is %d bytes, over the %d bytes limit: starting a new session",
                short_hash(sid),
                len(raw),
                self.max_size,
            )
            self.metrics.oversize()
            self.metrics.load("refused")
            return self.new()
        try:
            data = decode_session(raw)
            created, touched, indexed = times_of(data.pop(META, None))
        except (CorruptData, ValueError) as error:
            _logger.warning("session %s unreadable (%s): starting a new session", short_hash(sid), error)
            self.metrics.load("refused")
            return self.new()
        now = self.clock()
        lifetime_over = self.max_lifetime and created and now - created >= self.max_lifetime
        # Redis expires a key after the expiration it was written with; a
        # shorter one set since (Odoo's sessions.max_inactivity_seconds) holds too
        ttl = self._ttl(data)
        idle_over = touched and now - touched >= ttl
        if lifetime_over or idle_over:
            self._end([(sid, owner_of(data))])
            self.metrics.load("refused")
            return self.new()
        session = self.session_class(data, sid, False)
        _remember(
            session, Loaded(sid, body_of(raw), created or now, touched, legacy, owner_of(data), indexed)
        )
        # The save flag makes Odoo call save(), which rewrites the session. A
        # value without times (the older module's) is rewritten at once, so
        # that its lifetime is counted from now on rather than from every read.
        if not created or self._touch_due(touched, now, ttl):
            setattr(session, self.save_flag, True)
        self.metrics.load("hit")
        return session

    def contents(self, session):
        """The session's keys and values as a mapping that is cheap to read:
        a save reads them several times (the glue of a session class that
        is not a dict hands over the dict behind it)."""
        return session

    def save(self, session):
        if not self.is_valid_key(session.sid):
            # Odoo 16+ puts the cookie's id back on the session it gets,
            # whatever that id is: it never becomes a key
            session.sid = self.generate_key()
        now = self.clock()
        loaded = _loaded(session)
        data = self.contents(session)
        created = loaded.created if loaded else now
        expiration = self._ttl(data)
        ttl = expiration
        if self.max_lifetime:
            ttl = min(ttl, int(created + self.max_lifetime - now))
            if ttl <= 0:
                self.delete(session)
                return
        if not loaded and self.skip_default_sessions and holds_only_odoo_defaults(data):
            self.metrics.save("unchanged")
            return  # never stored, nothing to keep: a bot or a probe costs no write
        body = encode_session(data)
        if loaded and body == loaded.body and not self._touch_due(loaded.touched, now, expiration):
            self.metrics.save("unchanged")
            return  # the same session as in Redis, and no touch due
        owner = owner_of(data)
        index = self._index_due(loaded, owner, now, ttl)
        indexed = now + self._index_ttl(ttl) if index else (loaded.indexed if owner and loaded else 0)
        raw = with_times(body, created, now, indexed)
        if len(raw) > self.max_size:
            _logger.error(
                "session %s not saved: %d bytes, over the %d bytes limit (ODOO_SESSION_REDIS_MAX_SIZE)",
                short_hash(session.sid),
                len(raw),
                self.max_size,
            )
            self.metrics.oversize()
            return
        if not self._call("save", lambda: self._write(session.sid, raw, ttl, owner, loaded, index)):
            _logger.info("session %s ended while its request ran: not saved again", short_hash(session.sid))
            self.metrics.save("ended")
            return
        self.metrics.save("touched" if loaded and body == loaded.body else "written")
        _remember(session, Loaded(session.sid, body, created, now, False, owner, indexed))

    def delete(self, session):
        """End the session: delete every key it may live under, and its
        entries in the indexes (the owner it was loaded with: a logout
        empties the session before Odoo deletes it). Where ids name devices,
        a logged-in session's older ids on the same device (Odoo 19 keeps
        the previous id alive for a while after a soft rotation) end with it."""
        loaded = _loaded(session)
        owner = loaded.owner if loaded else owner_of(session)
        older = []
        if owner and self.identifier_length:
            older = self._call("delete", lambda: self._same_device(session.sid))
        self._end([(session.sid, owner)] + [(sid, owner) for sid in older])
        self.forget(session)

    def forget(self, session):
        """Let the next save of ``session`` write it whatever Redis holds:
        the caller ended it on purpose and keeps using it (a save otherwise
        never brings back a session that ended while it was loaded)."""
        _remember(session, None)

    def list(self):
        """Ids of the stored sessions of this prefix, the older module's keys
        included (SCAN, never KEYS)."""
        return sorted({sid for sid, _key in self.scan()})

    # --- devices (Odoo 18+): the sessions of an identifier, through its index ---

    def is_identifier(self, identifier):
        """Is ``identifier`` the leading part of an id of this store's kind?"""
        length = self.identifier_length
        return (
            bool(length)
            and isinstance(identifier, str)
            and len(identifier) == length
            and self.id_pattern.fullmatch(identifier + "A" * length) is not None
        )

    def identifier_members(self, identifiers):
        """What the device index lists, in one round trip whatever the size
        of the keyspace: ``(identifier, None)`` for each valid identifier,
        then ``(identifier, sid)`` for each session id listed under it (an
        entry may outlive its session). Invalid identifiers are left out."""
        wanted = sorted({item for item in identifiers if self.is_identifier(item)})
        if not wanted:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for identifier in wanted:
            pipe.smembers(device_index_key(identifier, self.prefix))
        members = [(identifier, None) for identifier in wanted]
        for identifier, found in zip(wanted, pipe.execute(raise_on_error=False)):
            if isinstance(found, ResponseError):  # not a set: lists nothing, ended with the rest
                continue
            for sid in sorted(item.decode("utf-8", "replace") for item in found):
                if sid.startswith(identifier) and self.is_valid_key(sid):
                    members.append((identifier, sid))
        return members

    def _same_device(self, sid):
        """The other ids the device index lists for ``sid``'s device."""
        members = self.identifier_members([sid[: self.identifier_length]])
        return [other for _identifier, other in members if other and other != sid]

    def end_identifiers(self, identifiers):
        """End every session of these device identifiers and drop their
        index; return how many sessions were stored. Invalid identifiers end
        nothing. Three round trips."""
        members = self.identifier_members(identifiers)
        sids = [sid for _identifier, sid in members if sid]
        sessions = [(sid, data and owner_of(data)) for sid, data in zip(sids, self._live(sids))]
        index_keys = [device_index_key(identifier, self.prefix) for identifier, sid in members if not sid]
        return self._end(sessions, action=None, extra_keys=index_keys)

    def missing_identifiers(self, identifiers):
        """The valid identifiers none of whose sessions is stored: two round
        trips per batch of identifiers, existence checks only."""
        missing = set()
        for batch in batches(identifiers):
            members = self.identifier_members(batch)
            sids = [sid for _identifier, sid in members if sid]
            live = {sid for sid, present in zip(sids, self.stored(sids)) if present}
            missing.update(identifier for identifier, _sid in members)
            missing.difference_update(identifier for identifier, sid in members if sid in live)
        return missing

    # --- bulk operations: the migration and the operator jobs ---

    def scan(self):
        """Yield ``(sid, key)`` once for every key holding a session of this
        prefix: documented keys first, then the older module's.

        Without a prefix, ``session:*`` also matches other prefixes' keys
        and the index keys: only keys ending in a well-formed session id
        right after the start are kept. SCAN may return a key twice while
        Redis resizes its tables: the keys seen are remembered so that every
        count is exact. A Cluster client scans every master.
        """
        starts = [self.key("")]
        if self.prefix:
            starts.append(legacy_session_key("", self.prefix))
        for start in starts:
            seen = set()
            for key in self.redis.scan_iter(match=glob_escape(start) + "*", count=SCAN_BATCH):
                sid = key.decode("utf-8", "replace")[len(start) :]
                if self.is_valid_key(sid) and sid not in seen:
                    seen.add(sid)
                    yield sid, key

    def values(self, keys, ttl=False, memory=False):
        """The stored bytes of ``keys`` (None for a key gone meanwhile), in one
        round trip; with ``ttl`` and/or ``memory``, tuples that add the key's
        TTL and its MEMORY USAGE (None where Redis refuses that command)."""
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            if ttl:
                pipe.ttl(key)
            if memory:
                pipe.memory_usage(key)
        results = pipe.execute(raise_on_error=False)
        width = 1 + ttl + memory
        rows = []
        for start in range(0, len(results), width):
            row = results[start : start + width]
            for result in row[: 1 + ttl]:
                if isinstance(result, Exception):
                    raise result
            if memory and isinstance(row[-1], Exception):
                row[-1] = None
            rows.append(tuple(row) if width > 1 else row[0])
        return rows

    def stored(self, sids):
        """For each id, is the session stored (under any of its keys)? One round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            for key in keys_of(sid, self.prefix):  # one EXISTS each: a Cluster spreads them
                pipe.exists(key)
        found = pipe.execute()
        step = len(keys_of("", self.prefix))
        return [any(found[start : start + step]) for start in range(0, len(found), step)]

    def add_many(self, sessions):
        """Store sessions given as ``(sid, data)`` that are not stored yet
        (under any of their keys), each with its time-to-live, and register
        the logged-in ones in their indexes; a session already in Redis is
        newer and kept. Return, for each session, True if written, False if
        already stored, None if over ``max_size`` or not a valid id. One
        round trip for the sessions (with a prefix, one more first for the
        older keys) and one for the indexes of those written.
        """
        now = self.clock()
        results, pending = [], []  # pending: (index in results, sid, raw, ttl, owner)
        for sid, data in sessions:
            if not self.is_valid_key(sid):
                results.append(None)
                continue
            ttl = self._ttl(data)
            owner = owner_of(data)
            raw = encode_with_times(data, now, now, now + self._index_ttl(ttl) if owner else 0)
            if len(raw) > self.max_size:
                _logger.warning(
                    "session %s not copied: %d bytes, over the %d bytes limit (MAX_SIZE)",
                    short_hash(sid),
                    len(raw),
                    self.max_size,
                )
                results.append(None)
                continue
            pending.append((len(results), sid, raw, ttl, owner))
            results.append(False)
        if self.prefix and pending:
            pipe = self.redis.pipeline(transaction=False)
            for _index, sid, _raw, _ttl, _owner in pending:
                pipe.exists(legacy_session_key(sid, self.prefix))
            pending = [write for write, present in zip(pending, pipe.execute()) if not present]
        if pending:
            pipe = self.redis.pipeline(transaction=False)
            for _index, sid, raw, ttl, _owner in pending:
                pipe.set(self.key(sid), raw, ex=ttl, nx=True)
            written = pipe.execute()
            pipe = self.redis.pipeline(transaction=False)
            for (index, sid, _raw, ttl, owner), done in zip(pending, written):
                results[index] = bool(done)
                if done and owner:
                    self._index(pipe, sid, owner, ttl)
            pipe.execute()
        return results

    def too_large(self, data):
        """Would session ``data`` be refused for being over ``max_size``?"""
        now = self.clock()
        return len(encode_with_times(data, now, now)) > self.max_size

    def delete_many(self, sids, owners=None):
        """End the sessions ``sids`` (every key of each, and their index
        entries where ``owners``, aligned with ``sids``, names them), in one
        round trip; return how many of them were stored."""
        return self._end(list(zip(sids, owners or [None] * len(sids))), action=None)

    # --- the per-user index ---

    def index_key(self, db, uid):
        return user_index_key(db, uid, self.prefix)

    def user_sessions(self, db, uid):
        """The live sessions of user ``uid`` in ``db``, oldest first, as
        :class:`UserSession`; index entries whose session ended are dropped."""
        index = self.index_key(db, uid)
        sids = sorted(self._members(index))
        step = len(keys_of("", self.prefix))
        rows = self.values([key for sid in sids for key in keys_of(sid, self.prefix)], ttl=True)
        found, ended = [], []
        for sid, start in zip(sids, range(0, len(rows), step)):
            # the documented key, else the older module's (until its next save moves it)
            raw, ttl = next((row for row in rows[start : start + step] if row[0] is not None), (None, -2))
            item = decoded(raw)
            if item is None or owner_of(item[0]) != (db, uid):
                ended.append(sid)
                continue
            data, created, touched = item
            found.append(UserSession(sid, created, touched, ttl, data.get(LOGIN_INFO) or {}))
        if ended:
            self.redis.srem(index, *ended)
        return sorted(found, key=lambda session: (session.created, session.sid))

    def end_user_sessions(self, db, uid, keep=None):
        """End every session of user ``uid`` in ``db`` but ``keep`` (a
        session id); return how many were stored. Two round trips."""
        index = self.index_key(db, uid)
        doomed = [sid for sid in self._members(index) if sid != keep]
        return self._end([(sid, (db, uid)) for sid in doomed], action=None)

    def rebuild_index(self, batch=BATCH, progress=None):
        """Register every logged-in session of this prefix in its indexes
        (sessions written before the indexes existed, or by the older
        module); return ``(sessions indexed, users)``."""
        indexed, users = 0, set()
        for pairs in batches(self.scan(), batch):
            indexed += self._index_batch(pairs, users)
            if progress:
                progress(indexed)
        return indexed, len(users)

    def _members(self, index):
        """The session ids an index lists. Anything else found there (an
        entry that is not an id of this store's kind, a key that is not a
        set) is not ours to act on: it is removed, with a warning, so that
        no key is ever derived from it."""
        try:
            members = self.redis.smembers(index)
        except ResponseError as error:
            _logger.warning("session index %s unreadable (%s): deleted", index, error_text(error))
            self.redis.delete(index)
            return []
        sids, junk = [], []
        for item in members:
            sid = item.decode("utf-8", "replace")
            if self.is_valid_key(sid):
                sids.append(sid)
            else:
                junk.append(item)
        if junk:
            _logger.warning("session index %s: %d entries that are no session ids removed", index, len(junk))
            self.redis.srem(index, *junk)
        return sids

    def _index_batch(self, pairs, users):
        pipe = self.redis.pipeline(transaction=False)
        indexed = 0
        for (sid, _key), (raw, ttl) in zip(pairs, self.values([key for _sid, key in pairs], ttl=True)):
            item = decoded(raw)
            owner = item and owner_of(item[0])
            if owner:
                self._index(pipe, sid, owner, ttl)
                users.add(owner)
                indexed += 1
        pipe.execute()
        return indexed

    # --- internals ---

    def _index(self, pipe, sid, owner, ttl):
        """Queue the index entries of logged-in session ``sid``: its user's
        and, where ids name devices, its identifier's, each index's expiry
        pushed to at least :meth:`_index_ttl` from now, never brought
        forward (``EXPIRE ... NX`` for a new index, ``GT`` for one that may
        already live longer for another session). Before Redis 7.0 a plain
        ``EXPIRE``, and every save of a logged-in session pushes it."""
        keys = self._index_keys(sid, owner)
        seconds = self._index_ttl(ttl)
        options = self._expire_options()
        for key in keys:
            pipe.sadd(key, sid)
            if options:
                pipe.execute_command("EXPIRE", key, seconds, "NX")
                pipe.execute_command("EXPIRE", key, seconds, "GT")
            else:
                pipe.expire(key, seconds)

    def _index_keys(self, sid, owner):
        """The indexes that list logged-in session ``sid``: its user's and,
        where ids name devices, its identifier's."""
        keys = [self.index_key(*owner)]
        if self.identifier_length:
            keys.append(device_index_key(sid[: self.identifier_length], self.prefix))
        return keys

    def _index_due(self, loaded, owner, now, ttl):
        """Must this save of a session of ``owner`` write its indexes? Only
        when it joins them (a login, a new owner, a session whose indexes
        are not known to hold it) or when it would outlive them: otherwise
        the save is a single ``SET``."""
        if not owner:
            return False
        if not (loaded and loaded.owner == owner and loaded.indexed and not loaded.legacy):
            return True
        return now + ttl > loaded.indexed or self.expire_options is False

    def _expire_options(self):
        """Does this Redis take ``EXPIRE ... NX | GT`` (7.0 and later)?
        Asked once, with an ``EXPIRE`` of a key that never exists."""
        if self.expire_options is None:
            try:
                self.redis.execute_command("EXPIRE", self.key("expire-options"), 1, "NX")
                self.expire_options = True
            except ResponseError:
                _logger.warning(
                    "Redis before 7.0: every save of a logged-in session also pushes its index's expiry"
                )
                self.expire_options = False
        return self.expire_options

    def _write(self, sid, raw, ttl, owner, loaded, index):
        """Store a session in one round trip; return whether it was written.
        One ``SET ... EX`` (redis-py's set() would parse options first),
        with, where ``index``, its index entries (see :meth:`_index`) in
        the same pipeline.

        A session read from its key is written back only if the key is still
        there (``SET ... XX``): a request that loaded it before it ended (a
        logout, a revocation, a new password, on any node) must not bring it
        back, logged in, when it finishes. Index entries queued in the same
        round trip are then taken back in a second one."""
        key = self.key(sid)
        previous = loaded.owner if loaded else None
        legacy = loaded is not None and loaded.legacy
        leaves = previous is not None and previous != owner
        limit = self.max_sessions_per_user if index and previous != owner else None
        command = ["SET", key, raw, "EX", ttl] + (["XX"] if loaded and not legacy else [])
        if not (index or leaves or legacy):
            return self.redis.execute_command(*command) is not None
        pipe = self.redis.pipeline(transaction=False)
        pipe.execute_command(*command)
        if legacy:  # moved from the older module's key
            pipe.delete(legacy_session_key(sid, self.prefix))
        if leaves:
            pipe.srem(self.index_key(*previous), sid)
            if self.identifier_length and not owner:
                pipe.srem(device_index_key(sid[: self.identifier_length], self.prefix), sid)
        if index:
            self._index(pipe, sid, owner, ttl)
        if limit:
            pipe.scard(self.index_key(*owner))
        results = pipe.execute(raise_on_error=False)
        if isinstance(results[0], Exception):
            raise results[0]
        if index and any(isinstance(result, ResponseError) for result in results[1:]):
            self._repair_indexes(sid, owner, ttl)
        elif limit and results[0] is not None and results[-1] > limit:
            self._keep_newest(owner, sid, limit)
        if results[0] is not None:
            return True
        if index:
            self._end([(sid, owner)], action=None)  # the entries just added
        return False

    def _keep_newest(self, owner, sid, limit):
        """A login made user ``owner`` hold more than ``limit`` sessions: end
        the oldest (through the index, on every node) so that ``limit`` are
        left, the new one ``sid`` included."""
        others = [session.sid for session in self.user_sessions(*owner) if session.sid != sid]
        doomed = others[: max(0, len(others) - (limit - 1))]
        if doomed:
            self._end([(other, owner) for other in doomed], action=None)
            _logger.info(
                "user %d in %s: %d oldest sessions ended, over the limit of %d "
                "(ODOO_SESSION_REDIS_MAX_SESSIONS_PER_USER): %s",
                owner[1],
                owner[0],
                len(doomed),
                limit,
                ", ".join(short_hash(other) for other in doomed),
            )

    def _repair_indexes(self, sid, owner, ttl):
        """An index key that is not a set (written by something else) made
        registering ``sid`` fail: it is replaced by a set, with a warning, so
        that the user's logins keep working and revocation finds them."""
        keys = self._index_keys(sid, owner)
        for key in keys:
            if self.redis.type(key) not in (b"set", b"none"):
                _logger.warning("session index %s was not a set: replaced", key)
                self.redis.delete(key)
        pipe = self.redis.pipeline(transaction=False)
        self._index(pipe, sid, owner, ttl)
        pipe.execute()

    def _index_ttl(self, ttl):
        """Seconds an index lives after a push: twice the longest expiration
        of the session pushing it and the logged-in one, so that it never
        ends before one of its sessions, a session in use pushes it about
        once per expiration, and it is gone two expirations after the last
        push."""
        return 2 * max(ttl, self.logged_in_expiration())

    def _end(self, sessions, action="delete", extra_keys=()):
        """Delete every key of each ``(sid, owner)`` (its activity record
        too), its index entries and ``extra_keys``; return the number of
        sessions that had a key. ``action`` names the request step for the
        503 guard (None: an operator job, whose caller reports Redis errors
        itself)."""
        if not sessions and not extra_keys:
            return 0
        step = len(keys_of("", self.prefix))
        length = self.identifier_length

        def delete():
            if len(sessions) == 1 and not sessions[0][1] and not extra_keys:
                sid = sessions[0][0]  # one DEL (split by slot on a Cluster)
                return [self.redis.delete(*keys_of(sid, self.prefix) + [activity_key(sid, self.prefix)])]
            pipe = self.redis.pipeline(transaction=False)
            for sid, _owner in sessions:
                for key in keys_of(sid, self.prefix):  # a DEL each: a Cluster spreads them over slots
                    pipe.delete(key)
            for sid, owner in sessions:
                pipe.delete(activity_key(sid, self.prefix))  # see the block for other addons below
                if owner:
                    pipe.srem(self.index_key(*owner), sid)
                    if length:
                        pipe.srem(device_index_key(sid[:length], self.prefix), sid)
            for key in extra_keys:
                pipe.delete(key)
            deleted = pipe.execute(raise_on_error=False)
            counts = deleted[: step * len(sessions)]
            failed = next((result for result in counts if isinstance(result, Exception)), None)
            if failed is not None:
                raise failed
            if any(isinstance(result, Exception) for result in deleted[len(counts) :]):
                # an index that is not a set: the sessions are gone all the same
                _logger.warning("session index entries not removed: an index key is not a set")
            return [sum(counts[start : start + step]) for start in range(0, len(counts), step)]

        if not action:
            return sum(1 for count in delete() if count)
        counts = self._call(action, delete)
        self.metrics.delete()
        return sum(1 for count in counts if count)

    def _live(self, sids):
        """For each id, its stored session data (the documented key, else the
        older module's), or None if gone or unreadable. One round trip."""
        step = len(keys_of("", self.prefix))
        rows = self.values([key for sid in sids for key in keys_of(sid, self.prefix)])
        live = []
        for start in range(0, len(rows), step):
            raw = next((row for row in rows[start : start + step] if row is not None), None)
            item = decoded(raw)
            live.append(item[0] if item else None)
        return live

    def _read(self, sid):
        """``(raw bytes or None, from the older module's key?)``. A key
        that is not a string reads as unreadable bytes (see :meth:`get`),
        not as Redis failing."""
        raw = self._call("load", lambda: self._get(self.key(sid)))
        if raw is None and self.prefix:
            raw = self._call("load", lambda: self._get(legacy_session_key(sid, self.prefix)))
            return raw, raw is not None
        return raw, False

    def _get(self, key):
        try:
            return self.redis.get(key)
        except ResponseError as error:
            if not str(error).startswith("WRONGTYPE"):
                raise
            return NOT_A_STRING

    def _touch_due(self, touched, now, expiration):
        """Is it time to push the expiry back (sliding expiry only)?"""
        return self.sliding and now - touched >= min(self.touch_interval, expiration / 10.0)

    def _call(self, action, command):
        """Run ``command()``; a Redis failure becomes HTTP 503 and one log line.

        ``command`` must reach ``self.redis`` itself: a Cluster client is built
        on first use, so even looking up one of its methods can fail.
        """
        started = time.monotonic()
        try:
            result = command()
        except REDIS_ERRORS as error:
            _logger.error("session %s failed, Redis unavailable: %s", action, error_text(error))
            self.metrics.unavailable()
            raise RedisUnavailable()
        self.metrics.redis_call(action, time.monotonic() - started)
        return result

    # --- for other addons: Odoo's filesystem-store API and a last-activity record ---

    def get_session_filename(self, sid):
        """Odoo's filesystem store names each session's file; there is none here."""
        raise NotOfferedByRedisStore("get_session_filename()", "sessions are Redis keys, not files")

    def activity_key(self, sid):
        return activity_key(sid, self.prefix)

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
            _logger.warning("session %s activity record unreadable: ignored", short_hash(session.sid))
            return None
        return at if uid == str(session.get("uid") or 0) else None

    def record_activity(self, session, keep=0):
        """Record now as the user's last activity: one ``SET ... EX``, kept
        as long as the session lives (at least ``keep`` seconds)."""
        if not self.is_valid_key(session.sid):
            return
        ttl = max(self._ttl(session), int(keep) + 1)
        value = "%s %.3f" % (session.get("uid") or 0, self.clock())
        key = self.activity_key(session.sid)
        self._call("save", lambda: self.redis.execute_command("SET", key, value, "EX", ttl))


def short_hash(sid):
    """How logs name a session: a short hash of its id, which no client can
    present (the id itself, even in part, is a credential)."""
    return "#" + hashlib.sha256(sid.encode("utf-8")).hexdigest()[:12]


def wall_clock():
    """The time now, looked up at each call (so that a test's frozen clock
    reaches the store, as it reaches Odoo)."""
    return time.time()


def holds_only_odoo_defaults(session):
    """Does ``session`` hold nothing but what Odoo puts in every session
    (no user; a database, language and location Odoo derives from the
    request again; keys without a value)?"""
    if any(
        value not in (None, False, "", {}, [])
        for key, value in session.items()
        if key not in ODOO_DERIVED_KEYS
    ):
        return False
    context = session.get("context") or {}
    return isinstance(context, dict) and ODOO_DEFAULT_CONTEXT_KEYS.issuperset(context)


def decoded(raw):
    """``(data, created, touched)`` of stored bytes, the addon's times
    taken out of ``data``; None if gone or unreadable."""
    if raw is None:
        return None
    try:
        data = decode_session(raw)
        created, touched, _indexed = times_of(data.pop(META, None))
    except (CorruptData, ValueError):
        return None
    return data, created, touched


def _remember(session, loaded):
    # object.__setattr__: Odoo's session classes store other attributes as
    # session keys (the glue gives slotted classes a ``_redis_loaded`` slot)
    try:
        object.__setattr__(session, "_redis_loaded", loaded)
    except AttributeError:  # a session class without room for it: every save writes
        pass


def _loaded(session):
    try:
        loaded = object.__getattribute__(session, "_redis_loaded")
    except AttributeError:
        return None
    return loaded if loaded is not None and loaded.sid == session.sid else None
