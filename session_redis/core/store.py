"""RedisSessionStore: Odoo's session-store API on top of Redis, knowing no Odoo.

Each session is one Redis string (see :mod:`.layout` for every key) holding
JSON (see :mod:`.codec`), written together with its time-to-live in a
single ``SET ... EX`` so that no key ever lives without one. Redis expires
the keys: there is nothing to garbage-collect.

This class is the one place that reads and writes those keys: the start-up
migration and the operator jobs go through its bulk methods
(:meth:`~RedisSessionStore.scan`, :meth:`~RedisSessionStore.add_many`,
:meth:`~RedisSessionStore.delete_many`, ...). Keys and indexes name a
session by its *entry*: its id, or with ``hash_ids`` the id's SHA-256, so
that a copy of Redis logs nobody in. A session may still live under
another key of its id (written before hashing was switched on, or by the
older camptocamp module with a prefix): it is read from there, moved on
its next save, and every way a session ends deletes every key of it.

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
import functools
import hashlib
import logging
import os
import re
import time

from redis.exceptions import ResponseError
from werkzeug.exceptions import ServiceUnavailable

from .batches import BATCH, batches
from .client import REDIS_ERRORS, error_text, is_cluster
from .codec import CorruptData, decode_session, encode_session
from .layout import (
    ANY_SESSION_ID,
    HASHED_ID,
    META,
    activity_key,
    body_of,
    device_index_key,
    glob_escape,
    hashed_id,
    index_patterns,
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
# How often ending the sessions an index lists reads it again (see
# RedisSessionStore._end_listed): one more than a race needs.
MAX_END_ROUNDS = 3
# What a session key holding another Redis type reads as: no JSON session.
NOT_A_STRING = b"<a Redis value that is not a string>"

# What get() saw, kept on the session for save(): the sid, the JSON body
# read (without the times), the session's creation and last touch (Unix
# seconds), the key it was read from when that is another key than the one
# it is written under (see RedisSessionStore.keys; None: its own), its
# owner: ``(db, uid)`` of a logged-in session, else None, and until when
# its indexes live at least (Unix seconds; 0: unknown).
Loaded = collections.namedtuple("Loaded", "sid body created touched source owner indexed")

# Odoo 19's soft rotation: the id a session had before it took a new one,
# what that id keeps for its grace period (pointing at the new one), and
# what its request read (see RedisSessionStore.predecessor).
Predecessor = collections.namedtuple("Predecessor", "sid data loaded")

# One key a write sets: ``SET key raw EX ttl [XX | NX]``.
Put = collections.namedtuple("Put", "key raw ttl condition")

# What an index lists: this store's entries (ids or hashes), ids of another
# Odoo series sharing the keyspace, and members that are no id at all (bytes).
IndexEntries = collections.namedtuple("IndexEntries", "ours foreign junk")

# A user's session as the per-user index lists it: its entry (the id, or its
# hash), Unix times, seconds left.
UserSession = collections.namedtuple("UserSession", "entry created touched expires_in login_info")

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
    uid = data.get("uid")
    if type(uid) is int and uid > 0:  # not a bool either
        db = data.get("db")
        if type(db) is str and db:
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
    :param hash_ids: name sessions (and device identifiers) in keys and
        indexes by their SHA-256, never by the id itself.
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
        hash_ids=DEFAULTS["hash_ids"],
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
        self.hash_ids = hash_ids
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

    # --- how sessions are named at rest ---

    def entry(self, sid):
        """What names session ``sid`` in its key and in the indexes: the id,
        or with ``hash_ids`` its SHA-256."""
        return hashed_id(sid) if self.hash_ids else sid

    def is_entry(self, text):
        """Is ``text`` an entry of this store's kind, in either form?"""
        return self.is_valid_key(text) or (isinstance(text, str) and HASHED_ID.fullmatch(text) is not None)

    def same_session(self, entry, sid):
        """Does ``entry``, in either form, name session ``sid``?"""
        return entry == sid or entry == hashed_id(sid)

    def key(self, sid):
        """The key session ``sid`` is written under."""
        return session_key(hashed_id(sid) if self.hash_ids else sid, self.prefix)

    def keys(self, entry):
        """Every key the session named by ``entry`` may live under, the one it
        is written under first. An id's session may also be under its other
        form (hashing switched on or off since it was written) and, with a
        prefix, under the older module's key; a hash names one key only.
        Every way a session ends deletes them all; a lookup by id reads only
        :meth:`_fallback_keys` besides its own."""
        if not self.is_valid_key(entry):
            return [session_key(entry, self.prefix)]
        keys = [self.key(entry), session_key(entry if self.hash_ids else hashed_id(entry), self.prefix)]
        if self.prefix:
            keys.append(legacy_session_key(entry, self.prefix))
        return keys

    def _activity_keys(self, entry):
        """The activity records the session named by ``entry`` may have."""
        keys = [activity_key(entry, self.prefix)]
        if self.is_valid_key(entry):
            keys.append(activity_key(hashed_id(entry), self.prefix))
        return keys

    # --- the session-store API Odoo calls ---

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
        raw, source = self._read(sid)
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
        session = self.session_class(self.unsealed(data, sid), sid, False)
        owner = owner_of(data)
        _remember(session, Loaded(sid, body_of(raw), created or now, touched, source, owner, indexed))
        # The save flag makes Odoo call save(), which rewrites the session. A
        # value without times (the older module's) is rewritten at once, so
        # that its lifetime is counted from now on rather than from every
        # read; one read from another key than its own is moved at once.
        if not created or source or self._touch_due(touched, now, ttl):
            setattr(session, self.save_flag, True)
        self.metrics.load("hit")
        return session

    def sealed(self, data, sid):
        """Session ``data`` of ``sid`` as stored: the glue of an Odoo that
        keeps another session's id in a session encrypts it there (with
        hashing, nothing in Redis may be presented as an id)."""
        return data

    def unsealed(self, data, sid):
        """Stored session ``data`` of ``sid`` as the caller reads it: the
        reverse of :meth:`sealed`."""
        return data

    def contents(self, session):
        """The session's keys and values as a mapping that is cheap to read:
        a save reads them several times (the glue of a session class that
        is not a dict hands over the dict behind it)."""
        return session

    def save(self, session, predecessor=None):
        """Write ``session`` if it changed or its touch is due, never
        bringing back one that ended since its request read it (see
        :meth:`_write`). With a :class:`Predecessor` (Odoo 19's soft
        rotation, see :meth:`predecessor`), its previous id is written too,
        and neither is written if that previous id's session ended."""
        loaded = _loaded(session)  # its id was checked when it was loaded
        if not loaded and not self.is_valid_key(session.sid):
            # Odoo 16+ puts the cookie's id back on the session it gets,
            # whatever that id is: it never becomes a key
            session.sid = self.generate_key()
        now = self.clock()
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
        body = encode_session(self.sealed(data, session.sid))
        if (
            loaded
            and not loaded.source
            and body == loaded.body
            and not self._touch_due(loaded.touched, now, expiration)
        ):
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
        before = predecessor and self._predecessor_put(predecessor, now)
        if not self._call("save", lambda: self._write(session.sid, raw, ttl, owner, loaded, index, before)):
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
        if owner and self.identifier_length:
            listing = self._device_listing([session.sid[: self.identifier_length]], owner)
            self._call("delete", lambda: self._end_listed(listing, first=[(session.sid, owner)]))
            self.metrics.delete()
        else:
            self._end([(session.sid, owner)])
        self.forget(session)

    def predecessor(self, session, data):
        """What :meth:`save` needs to write ``session``'s current id as the
        predecessor of the id it is about to take (Odoo 19's soft
        rotation), keeping ``data``: call it before changing the id."""
        return Predecessor(session.sid, data, _loaded(session))

    def _predecessor_put(self, predecessor, now):
        """``(sid, put, source)``: how :meth:`_write` writes a predecessor's
        id, proved like any save of what its request read."""
        sid, data, loaded = predecessor
        created = loaded.created if loaded else now
        indexed = loaded.indexed if loaded and loaded.owner else 0
        raw = encode_with_times(self.sealed(data, sid), created, now, indexed)
        source = loaded.source if loaded else None
        condition = "NX" if source else "XX" if loaded else None
        return sid, Put(self.key(sid), raw, self._ttl(data), condition), source

    def forget(self, session):
        """Let the next save of ``session`` write it whatever Redis holds:
        the caller ended it on purpose and keeps using it (a save otherwise
        never brings back a session that ended while it was loaded)."""
        _remember(session, None)

    def list(self):
        """Entries of the stored sessions of this prefix (ids, or with
        hashing their hashes), the older module's keys included (SCAN,
        never KEYS)."""
        return sorted({entry for entry, _key in self.scan()})

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

    def device_index_keys(self, identifier):
        """The device indexes of ``identifier``: the one of its hash and the
        plain one (both are read: see :meth:`keys`)."""
        return [
            device_index_key(hashed_id(identifier), self.prefix),
            device_index_key(identifier, self.prefix),
        ]

    def identifier_members(self, identifiers):
        """What the device indexes list, in one round trip whatever the size
        of the keyspace: ``(identifier, None)`` for each valid identifier,
        then ``(identifier, entry)`` for each session entry listed under it
        (an entry may outlive its session). Invalid identifiers are left
        out."""
        wanted = sorted({item for item in identifiers if self.is_identifier(item)})
        if not wanted:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for identifier in wanted:
            for key in self.device_index_keys(identifier):
                pipe.smembers(key)
        found = iter(pipe.execute(raise_on_error=False))
        members = [(identifier, None) for identifier in wanted]
        for identifier in wanted:
            entries = set()
            for _key in self.device_index_keys(identifier):
                listed = next(found)
                if isinstance(listed, ResponseError):  # not a set: lists nothing, ended with the rest
                    continue
                for item in listed:
                    entry = item.decode("utf-8", "replace")
                    plain = entry.startswith(identifier) and self.is_valid_key(entry)
                    if plain or HASHED_ID.fullmatch(entry):
                        entries.add(entry)
            members.extend((identifier, entry) for entry in sorted(entries))
        return members

    def _device_listing(self, identifiers, owner=None):
        """What the device indexes of ``identifiers`` list, for
        :meth:`_end_listed`: their sessions' owner is ``owner`` if known."""

        def listing():
            return [
                (self.device_index_keys(identifier), entry, owner)
                for identifier, entry in self.identifier_members(identifiers)
                if entry
            ]

        return listing

    def end_identifiers(self, identifiers, keep=None):
        """End every session of these device identifiers but ``keep`` (a
        session id), emptying their indexes; return how many sessions were
        stored. Invalid identifiers end nothing. Four or five round trips.
        Without ``keep``, the indexes are deleted last, whatever they hold
        (something else than a set included): once the sessions they
        listed ended, a session written later is refused (see
        :meth:`_write`)."""
        count = self._end_listed(self._device_listing(identifiers), keep=keep)
        valid = [item for item in identifiers if self.is_identifier(item)]
        indexes = [key for identifier in valid for key in self.device_index_keys(identifier)]
        if indexes and not keep:
            self.redis.delete(*indexes)  # split by slot on a Cluster
        return count

    def missing_identifiers(self, identifiers):
        """The valid identifiers none of whose sessions can be loaded: two
        round trips per batch of identifiers, existence checks only."""
        missing = set()
        for batch in batches(identifiers):
            members = self.identifier_members(batch)
            entries = [entry for _identifier, entry in members if entry]
            live = {entry for entry, present in zip(entries, self.stored(entries)) if present}
            missing.update(identifier for identifier, _entry in members)
            missing.difference_update(identifier for identifier, entry in members if entry in live)
        return missing

    # --- bulk operations: the migration and the operator jobs ---

    def scan(self):
        """Yield ``(entry, key)`` once for every key holding a session of
        this prefix: documented keys first (named by id or by hash), then
        the older module's.

        Without a prefix, ``session:*`` also matches other prefixes' keys
        and the index keys: only keys ending in a well-formed entry right
        after the start are kept. SCAN may return a key twice while
        Redis resizes its tables: the keys seen are remembered so that every
        count is exact. A Cluster client scans every master.
        """
        starts = [(session_key("", self.prefix), self.is_entry)]
        if self.prefix:
            starts.append((legacy_session_key("", self.prefix), self.is_valid_key))
        for start, wanted in starts:
            seen = set()
            for key in self.redis.scan_iter(match=glob_escape(start) + "*", count=SCAN_BATCH):
                entry = key.decode("utf-8", "replace")[len(start) :]
                if wanted(entry) and entry not in seen:
                    seen.add(entry)
                    yield entry, key

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

    def stored(self, entries):
        """For each entry (an id, or a hash), is the session stored (under
        any of its keys)? One round trip."""
        pipe = self.redis.pipeline(transaction=False)
        widths = []
        for entry in entries:
            keys = self.keys(entry)
            widths.append(len(keys))
            for key in keys:  # one EXISTS each: a Cluster spreads them
                pipe.exists(key)
        return [any(row) for row in _split(pipe.execute(), widths)]

    def add_many(self, sessions):
        """Store sessions given as ``(sid, data)`` that are not stored yet
        (under any of their keys), each with its time-to-live, and register
        the logged-in ones in their indexes; a session already in Redis is
        newer and kept. Return, for each session, True if written, False if
        already stored, None if over ``max_size`` or not a valid id. One
        round trip for the sessions (one more first for their other keys)
        and one for the indexes of those written.
        """
        now = self.clock()
        results, pending = [], []  # pending: (index in results, sid, raw, ttl, owner)
        for sid, data in sessions:
            if not self.is_valid_key(sid):
                results.append(None)
                continue
            ttl = self._ttl(data)
            owner = owner_of(data)
            raw = encode_with_times(
                self.sealed(data, sid), now, now, now + self._index_ttl(ttl) if owner else 0
            )
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
        if pending:  # a session under another of its keys (not moved yet, the older module's) is newer
            present = self.stored([sid for _index, sid, _raw, _ttl, _owner in pending])
            pending = [write for write, stored in zip(pending, present) if not stored]
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

    def delete_many(self, entries, owners=None):
        """End the sessions named by ``entries`` (ids or hashes: every key of
        each, and their index entries where ``owners``, aligned with
        ``entries``, names them), in one round trip; return how many of
        them were stored."""
        return self._end(list(zip(entries, owners or [None] * len(entries))), action=None)

    # --- the per-user index ---

    def index_key(self, db, uid):
        return user_index_key(db, uid, self.prefix)

    def user_sessions(self, db, uid):
        """The live sessions of user ``uid`` in ``db``, oldest first, as
        :class:`UserSession`; index entries whose session ended are left
        out (and left: a listing writes nothing)."""
        index = self.index_key(db, uid)
        entries = sorted(self._members(index))
        keys = [self.keys(entry) for entry in entries]
        rows = self.values([key for some in keys for key in some], ttl=True)
        found = []
        for entry, row in zip(entries, _split(rows, [len(some) for some in keys])):
            # its own key, else another (until its next save moves it)
            raw, ttl = next((value for value in row if value[0] is not None), (None, -2))
            item = decoded(raw)
            if item is not None and owner_of(item[0]) == (db, uid):
                data, created, touched = item
                found.append(UserSession(entry, created, touched, ttl, data.get(LOGIN_INFO) or {}))
        return sorted(found, key=lambda session: (session.created, session.entry))

    def end_user_sessions(self, db, uid, keep=None):
        """End every session of user ``uid`` in ``db`` but ``keep`` (a
        session id); return how many were stored. Two round trips."""
        index = self.index_key(db, uid)

        def listing():
            return [([index], entry, (db, uid)) for entry in self._members(index)]

        return self._end_listed(listing, keep=keep)

    def _end_listed(self, listing, keep=None, first=()):
        """End the sessions ``first`` (``(entry, owner)`` pairs) and every
        session the indexes read by ``listing()`` list (``(index keys,
        entry, owner or None)``), but ``keep`` (a session id); return how
        many were stored. The indexes are read again after each round until
        they list nothing new: a request that wrote a session before its
        proof failed (see :meth:`_write`), a soft rotation's new id, had
        indexed it by then."""
        seen, count, sessions = set(), 0, list(first)
        for _round in range(MAX_END_ROUNDS):
            listed = [
                (indexes, entry, owner)
                for indexes, entry, owner in listing()
                if entry not in seen and not (keep and self.same_session(entry, keep))
            ]
            unknown = [entry for _indexes, entry, owner in listed if owner is None]
            owners = {entry: data and owner_of(data) for entry, data in zip(unknown, self._live(unknown))}
            sessions += [(entry, owner or owners[entry]) for _indexes, entry, owner in listed]
            drops = [(index, entry) for indexes, entry, _owner in listed for index in indexes]
            if not sessions and not drops:
                break
            count += self._end(sessions, action=None, drops=drops)
            seen.update(entry for entry, _owner in sessions)
            sessions = []
        return count

    def rebuild_index(self, batch=BATCH, progress=None):
        """Register every logged-in session of this prefix in its indexes
        (sessions written before the indexes existed, or by the older
        module), and repair the indexes: one that is not a set is deleted,
        members that are no session entry at all are removed (another
        series' ids are kept); return ``(sessions indexed, users)``."""
        indexed, users = 0, set()
        for pairs in batches(self.scan(), batch):
            indexed += self._index_batch(pairs, users)
            if progress:
                progress(indexed)
        for pattern in index_patterns(self.prefix):
            for index in self.redis.scan_iter(match=pattern, count=SCAN_BATCH):
                self._repair_index(index)
        return indexed, len(users)

    def _repair_index(self, index):
        """Delete an index key that is not a set; remove its junk members."""
        if self.redis.type(index) != b"set":
            _logger.warning("session index %s is not a set: deleted", index)
            self.redis.delete(index)
            return
        junk = self.index_entries(index).junk
        if junk:
            _logger.warning("session index %s: %d entries that are no session ids removed", index, len(junk))
            self.redis.srem(index, *junk)

    def index_entries(self, index):
        """What an index lists, as :class:`IndexEntries`, read only: this
        store's entries, ids of another Odoo series sharing the keyspace
        (another id form), and junk. An index key that is not a set lists
        nothing (``sessions --rebuild-index`` deletes it)."""
        try:
            members = self.redis.smembers(index)
        except ResponseError as error:
            _logger.warning("session index %s unreadable (%s): ignored", index, error_text(error))
            return IndexEntries([], [], [])
        listed = IndexEntries([], [], [])
        for item in members:
            entry = item.decode("utf-8", "replace")
            if self.is_entry(entry):
                listed.ours.append(entry)
            elif ANY_SESSION_ID.fullmatch(entry):
                listed.foreign.append(entry)
            else:
                listed.junk.append(item)
        return listed

    def _members(self, index):
        """The session entries of this store an index lists (see
        :meth:`index_entries`): nothing else is acted on, no key is ever
        derived from anything else."""
        return self.index_entries(index).ours

    def _index_batch(self, pairs, users):
        pipe = self.redis.pipeline(transaction=False)
        indexed = 0
        for (entry, _key), (raw, ttl) in zip(pairs, self.values([key for _entry, key in pairs], ttl=True)):
            item = decoded(raw)
            owner = item and owner_of(item[0])
            if owner:
                self._index(pipe, entry, owner, ttl)
                users.add(owner)
                indexed += 1
        pipe.execute()
        return indexed

    # --- internals ---

    def _index(self, pipe, entry, owner, ttl):
        """Queue the index entries of logged-in session ``entry`` (see
        :meth:`_index_entries`), each index's expiry
        pushed to at least :meth:`_index_ttl` from now, never brought
        forward (``EXPIRE ... NX`` for a new index, ``GT`` for one that may
        already live longer for another session). Before Redis 7.0 a plain
        ``EXPIRE``, and every save of a logged-in session pushes it."""
        seconds = self._index_ttl(ttl)
        options = self._expire_options()
        for key, member in self._index_entries(entry, owner):
            pipe.sadd(key, member)
            if options:
                pipe.execute_command("EXPIRE", key, seconds, "NX")
                pipe.execute_command("EXPIRE", key, seconds, "GT")
            else:
                pipe.expire(key, seconds)

    def _index_entries(self, entry, owner, every_form=False):
        """``(index, member)`` for each index that lists the session named by
        ``entry``, owned by ``owner``: its user's and, where ids name
        devices, its identifier's (by hash with hashing). With
        ``every_form``, those of an id's both forms, for a session that
        ends or moves. A hash names no device: a session ended by its hash
        leaves its device entry, which lists a key that is gone."""
        user_index = self.index_key(*owner)
        if not self.is_valid_key(entry):
            return [(user_index, entry)]
        entries = []
        for hashed in (True, False) if every_form else (self.hash_ids,):
            member = hashed_id(entry) if hashed else entry
            entries.append((user_index, member))
            if self.identifier_length:
                identifier = entry[: self.identifier_length]
                device = hashed_id(identifier) if hashed else identifier
                entries.append((device_index_key(device, self.prefix), member))
        return entries

    def _index_due(self, loaded, owner, now, ttl):
        """Must this save of a session of ``owner`` write its indexes? Only
        when it joins them (a login, a new owner, a session whose indexes
        are not known to hold it) or when it would outlive them: otherwise
        the save is a single ``SET``."""
        if not owner:
            return False
        if not (loaded and loaded.owner == owner and loaded.indexed and not loaded.source):
            return True
        return now + ttl > loaded.indexed or self.expire_options is False

    def _expire_options(self):
        """Does this Redis take ``EXPIRE ... NX | GT`` (7.0 and later)?
        Asked once, with an ``EXPIRE`` of a key that never exists."""
        if self.expire_options is None:
            try:
                self.redis.execute_command("EXPIRE", session_key("expire-options", self.prefix), 1, "NX")
                self.expire_options = True
            except ResponseError:
                _logger.warning(
                    "Redis before 7.0: every save of a logged-in session also pushes its index's expiry"
                )
                self.expire_options = False
        return self.expire_options

    def _write(self, sid, raw, ttl, owner, loaded, index, before=None):
        """Store a session; return whether it was written. The one write
        path: every save, move and rotation goes through it, and none brings
        back a session that ended since its request read it (a logout, a
        revocation, a new password, on any node). Each write is proved by
        the key its session was read from:

        - read from its own key: ``SET ... XX``, one command (the common case);
        - read from another of its keys (hashing switched on since, the
          older module's key): ``SET ... NX`` under its own key, then the
          key it was read from is deleted; if that one was gone already, the
          session ended meanwhile and what was written is ended again (a
          concurrent request that moved it first makes the ``NX`` fail:
          this one then writes with ``XX``);
        - a new id (a login): written as is;
        - ``before`` (:meth:`_predecessor_put`, Odoo 19's soft rotation):
          the new id is written and indexed first, then its predecessor is
          written as above; if the predecessor ended, so does the new id.

        Ending sessions deletes all their keys at once, then reads their
        indexes again (:meth:`_end_listed`): what a request wrote (and
        indexed) before its proof failed to fail is found there.

        Index entries (see :meth:`_index`) go in the same round trip as the
        first ``SET``; the per-user limit applies once the write is proved."""
        source = loaded.source if loaded else None
        previous = loaded.owner if loaded else None
        leaves = previous is not None and previous != owner
        limit = self.max_sessions_per_user if index and previous != owner else None
        put = Put(self.key(sid), raw, ttl, "NX" if source else "XX" if loaded else None)
        if not (index or leaves or source or before):
            return self._set(self.redis, put) is not None
        pipe = self.redis.pipeline(transaction=False)
        self._set(pipe, put)
        if leaves or (source and previous):  # what stays is added again below
            for key, members in _grouped(self._index_entries(sid, previous, every_form=True)):
                pipe.srem(key, *members)
        if index:
            self._index(pipe, sid, owner, ttl)
        if limit:
            pipe.scard(self.index_key(*owner))
        results = pipe.execute(raise_on_error=False)
        if isinstance(results[0], Exception):
            raise results[0]
        if index and any(isinstance(result, ResponseError) for result in results[1:]):
            self._repair_indexes(sid, owner, ttl)
        written = self._proved(sid, put, source, results[0] is not None)
        if written and before:
            before_sid, before_put, before_source = before
            written = self._proved(before_sid, before_put, before_source, self._set(self.redis, before_put))
        if not written:
            self._end([(sid, owner)], action=None)  # what was just written, its index entries
            return False
        if limit and results[-1] > limit:
            self._keep_newest(owner, sid, limit)
        return True

    def _proved(self, sid, put, source, done):
        """Was the write ``put`` of session ``sid`` (``done``: its ``SET``
        answered OK) a write of a live session? Read from its own key, the
        ``XX`` answers that. Read from ``source``, another of its keys: the
        ``NX`` wrote it (else a concurrent request moved it: written again
        with ``XX``), and deleting ``source`` proves it, with the session's
        other keys; if ``source`` was gone, what was written is ended."""
        if not source:
            return bool(done)
        if not done:
            return self._set(self.redis, put._replace(condition="XX")) is not None
        other_activity = activity_key(sid if self.hash_ids else hashed_id(sid), self.prefix)
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(source)  # a DEL each: a Cluster spreads them over slots
        for key in self.keys(sid)[1:] + [other_activity]:
            if key != source:
                pipe.delete(key)
        if pipe.execute()[0]:
            return True
        self._end([(sid, None)], action=None)
        return False

    @staticmethod
    def _set(client, put):
        """``SET key raw EX ttl [XX|NX]`` on ``client`` (a pipeline queues
        it); one command, without redis-py's option parsing."""
        command = ["SET", put.key, put.raw, "EX", put.ttl]
        if put.condition:
            command.append(put.condition)
        return client.execute_command(*command)

    def _keep_newest(self, owner, sid, limit):
        """A login made user ``owner`` hold more than ``limit`` sessions: end
        the oldest (through the index, on every node) so that ``limit`` are
        left, the new one ``sid`` included."""
        listed = self.user_sessions(*owner)
        others = [session.entry for session in listed if not self.same_session(session.entry, sid)]
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
        for key, _member in self._index_entries(sid, owner):
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

    def _end(self, sessions, action="delete", drops=()):
        """Delete every key of each ``(entry, owner)`` (its activity records
        too) and its index entries, and remove the ``(index, member)`` pairs
        ``drops``; return the number of sessions that had a key. ``action``
        names the request step for the 503 guard (None: an operator job,
        whose caller reports Redis errors itself).

        The keys go at once (one ``DEL``, or ``MULTI``): a request moving
        the session from one of its keys to another (see :meth:`_write`)
        sees either all or none of them gone. A Cluster deletes them slot by
        slot: they are deleted a second time once the first round is done,
        which catches a key such a move wrote in between."""
        if not sessions and not drops:
            return 0
        clustered = is_cluster(self.redis)

        def delete():
            if len(sessions) == 1 and not sessions[0][1] and not drops:
                keys = self.keys(sessions[0][0]) + self._activity_keys(sessions[0][0])
                counts = [self.redis.delete(*keys)]
                if clustered:
                    self.redis.delete(*keys)
                return counts
            pipe = self.redis.pipeline(transaction=not clustered)
            widths = []
            for entry, _owner in sessions:
                keys = self.keys(entry)
                widths.append(len(keys))
                for key in keys:  # a DEL each: a Cluster spreads them over slots
                    pipe.delete(key)
            entries = []
            for entry, owner in sessions:
                for key in self._activity_keys(entry):  # see the block for other addons below
                    pipe.delete(key)
                if owner:
                    entries.extend(self._index_entries(entry, owner, every_form=True))
            for key, members in _grouped(entries + list(drops)):
                pipe.srem(key, *members)
            deleted = pipe.execute(raise_on_error=False)
            counts = deleted[: sum(widths)]
            failed = next((result for result in counts if isinstance(result, Exception)), None)
            if failed is not None:
                raise failed
            if any(isinstance(result, Exception) for result in deleted[len(counts) :]):
                # an index that is not a set: the sessions are gone all the same
                _logger.warning("session index entries not removed: an index key is not a set")
            if clustered:
                again = self.redis.pipeline(transaction=False)
                for entry, _owner in sessions:
                    for key in self.keys(entry):
                        again.delete(key)
                again.execute()
            return [sum(row) for row in _split(counts, widths)]

        if not action:
            return sum(1 for count in delete() if count)
        counts = self._call(action, delete)
        self.metrics.delete()
        return sum(1 for count in counts if count)

    def _live(self, entries):
        """For each entry, its stored session data (under its own key, else
        another of its keys), or None if gone or unreadable. One round trip."""
        keys = [self.keys(entry) for entry in entries]
        rows = self.values([key for some in keys for key in some])
        live = []
        for row in _split(rows, [len(some) for some in keys]):
            item = decoded(next((raw for raw in row if raw is not None), None))
            live.append(item[0] if item else None)
        return live

    def _read(self, sid):
        """``(raw bytes or None, the key read if not its own, else None)``:
        its own key first, the others only when it is missing. A key that
        is not a string reads as unreadable bytes (see :meth:`get`), not as
        Redis failing."""
        raw = self._call("load", lambda: self._get(self.key(sid)))
        if raw is not None:
            return raw, None
        for key in self._fallback_keys(sid):
            raw = self._call("load", functools.partial(self._get, key))
            if raw is not None:
                return raw, key
        return None, None

    def _fallback_keys(self, sid):
        """Where a lookup of ``sid`` looks when its own key is missing: with
        hashing, its plain key (hashing switched on since it was written:
        nobody is logged out); with a prefix, the older module's key. Each
        costs a miss one more ``GET``. Without hashing, hashed keys are not
        read, so that the default costs a miss nothing more (the README says
        what switching hashing off does)."""
        keys = [session_key(sid, self.prefix)] if self.hash_ids else []
        if self.prefix:
            keys.append(legacy_session_key(sid, self.prefix))
        return keys

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
        return activity_key(self.entry(sid), self.prefix)

    def last_activity(self, session):
        """Unix time of the user's last recorded activity in ``session``, or
        None if none is recorded for the session's current user (a record of
        the anonymous visitor before a login does not count). With hashing,
        a record under the plain id (a session not moved yet) counts too."""
        raw = self._call("load", lambda: self.redis.get(self.activity_key(session.sid)))
        if raw is None and self.hash_ids:
            raw = self._call("load", lambda: self.redis.get(activity_key(session.sid, self.prefix)))
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


def short_id(entry):
    """How logs, the operator command and the sessions views name a session:
    12 hexadecimal characters of the hash of its id, which no client can
    present (the id itself, even in part, is a credential). With hashing,
    they start its key's name."""
    hashed = entry if HASHED_ID.fullmatch(entry) else hashed_id(entry)
    return hashed[:12]


def short_hash(entry):
    """A session's :func:`short_id` as logs show it."""
    return "#" + short_id(entry)


def _split(items, widths):
    """``items`` cut into consecutive rows of the given widths."""
    rows, start = [], 0
    for width in widths:
        rows.append(items[start : start + width])
        start += width
    return rows


def _grouped(pairs):
    """``(key, [members])`` for ``(key, member)`` pairs, in first-seen order:
    one SREM per index."""
    groups = collections.OrderedDict()
    for key, member in pairs:
        groups.setdefault(key, []).append(member)
    return groups.items()


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
