"""The request path: :class:`RedisSessionStore`, Odoo's session-store API
on top of Redis, knowing no Odoo.

Each session is one Redis string (see :mod:`..layout` for every key)
holding JSON (see :mod:`..codec`), written together with its time-to-live
in a single ``SET ... EX`` so that no key ever lives without one. Redis
expires the keys: there is nothing to garbage-collect. One Redis command
per request: the store remembers what it read and skips a save that would
write the same bytes; with sliding expiry the idle timeout is pushed back
by such a rewrite at most once per touch interval.

The session class and its "please save me" flag are the caller's: each
Odoo generation's glue subclasses this store with its own (see
:mod:`session_redis.series` for the contract).
"""

import functools
import hashlib
import logging
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Pattern, Tuple

from redis.exceptions import ResponseError
from werkzeug.exceptions import ServiceUnavailable

from ..client import REDIS_ERRORS, error_text
from ..codec import CorruptData, decode_session, encode_session
from ..layout import META, body_of, times_of, with_times
from ..server_checks import refusal_advice
from ..settings import DEFAULT_EXPIRATION, DEFAULT_EXPIRATION_ANONYMOUS, DEFAULTS, STORE_FIELDS
from . import expiry
from .activity import ActivityRecords
from .admin import Bulk
from .early_reads import EarlyReads
from .indexes import Indexes
from .names import HEX_ID, Names, short_hash
from .values import NOT_A_STRING, Loaded, holds_only_odoo_defaults, loaded_state, owner_of, remember
from .writes import Predecessor, Writes

_logger = logging.getLogger(__name__)


class Unmetered:
    """What the store reports as it works, for metrics; this one ignores it.

    :mod:`session_redis.core.metrics` counts the same calls. Reporting never
    sends anything to Redis.
    """

    def load(self, outcome: str) -> None:
        """A session was asked for: ``hit``, ``miss`` or ``refused`` (a
        malformed id, an unreadable or oversized value, a lifetime over)."""

    def save(self, outcome: str) -> None:
        """Odoo saved a session: ``written``, ``touched`` (only the expiry
        pushed back), ``unchanged`` (nothing sent) or ``ended`` (it ended
        while its request ran, and was not brought back)."""

    def delete(self) -> None:
        """A session ended."""

    def oversize(self) -> None:
        """A session over ``max_size`` was refused (saved or read)."""

    def unavailable(self) -> None:
        """Redis failed: the request answers 503."""

    def redis_call(self, action: str, seconds: float) -> None:
        """One round trip of ``action`` (load, save, delete) took ``seconds``."""


class RedisUnavailable(ServiceUnavailable):
    """Redis could not be reached: the request answers HTTP 503.

    werkzeug HTTP exceptions raised while Odoo loads or saves the session
    become that response, so the user sees a short "try again" page rather
    than a traceback, and the worker is free again at once.
    """

    description = "Sessions are temporarily unavailable. Please try again in a moment."


# What the 503 says when the request had ended its session (a logout) before
# Redis refused to store the session that follows it.
ENDED_BUT_UNAVAILABLE = (
    "You are logged out: your session has ended. Sessions are temporarily unavailable, "
    "so a new one could not be started; please try again in a moment."
)


def wall_clock() -> float:
    """The time now, looked up at each call (so that a test's frozen clock
    reaches the store, as it reaches Odoo)."""
    return time.time()


class RedisSessionStore(Writes, Indexes, Bulk, ActivityRecords):
    """Sessions in Redis: the methods Odoo calls on its session store, and
    the few hooks each Odoo generation's glue fills in. The other parts
    are separate classes, one concern each: :class:`~.writes.Writes` (the
    one write path), :class:`~.indexes.Indexes` (per-user and device
    indexes), :class:`~.admin.Bulk` (operator work) and
    :class:`~.activity.ActivityRecords` (for other addons).

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
    :param allow_eviction: Redis may evict keys (an evicting
        ``maxmemory-policy``, accepted with ``ALLOW_EVICTION``): every save
        of a logged-in session rewrites its index entries, so that an
        evicted index heals (see :mod:`~session_redis.core.server_checks`).
    :param read_early: :meth:`prefetch` sends the ``GET`` it is given at
        once (False: it sends nothing, the session is read when asked for).
    :param path: local folder Odoo uses for the files of interrupted uploads.
    :param clock: returns the time in seconds (tests pass their own).
    :param metrics: told what happens, see :class:`Unmetered` (the default).

    What a glue sets (see :mod:`session_redis.series`): :attr:`id_pattern`
    and :meth:`generate_key` (the ids), :attr:`save_flag` (the attribute
    that makes the caller save a session), :attr:`identifier_length` (Odoo
    18+: the leading part of an id that names a device, indexed; 0: none),
    :attr:`renew_missing` (an unknown id gets a new session with a new id,
    rather than an empty one keeping it), :attr:`skip_default_sessions` (a
    session never stored that holds only Odoo's defaults is not written,
    where Odoo asks to save every session it touched), and where its Odoo
    knows better, :meth:`default_expiration`, :meth:`ttl`, :meth:`contents`,
    :meth:`sealed` and :meth:`unsealed`.
    """

    id_pattern: Pattern = HEX_ID
    save_flag = "modified"
    identifier_length = 0
    renew_missing = False
    skip_default_sessions = True
    expire_options: Optional[bool] = None  # EXPIRE ... NX | GT (Redis 7.0+): asked on first use

    def __init__(
        self,
        redis: Any,
        session_class: Any = None,
        prefix: str = DEFAULTS["prefix"],
        expiration: Optional[int] = DEFAULTS["expiration"],
        expiration_anonymous: Optional[int] = DEFAULTS["expiration_anonymous"],
        sliding: bool = DEFAULTS["sliding"],
        touch_interval: float = DEFAULTS["touch_interval"],
        max_lifetime: Optional[int] = DEFAULTS["max_lifetime"],
        max_size: int = DEFAULTS["max_size"],
        max_sessions_per_user: Optional[int] = DEFAULTS["max_sessions_per_user"],
        hash_ids: bool = DEFAULTS["hash_ids"],
        allow_eviction: bool = DEFAULTS["allow_eviction"],
        read_early: bool = DEFAULTS["read_early"],
        path: Optional[str] = None,
        clock: Optional[Callable[[], float]] = None,
        metrics: Any = None,
    ) -> None:
        self.redis = redis
        self.session_class = session_class
        self.names = Names(self.id_pattern, self.identifier_length, prefix, hash_ids)
        self.expiration = expiration
        self.expiration_anonymous = expiration_anonymous
        self.sliding = sliding
        self.touch_interval = touch_interval
        self.max_lifetime = max_lifetime
        self.max_size = max_size
        self.max_sessions_per_user = max_sessions_per_user
        self.allow_eviction = allow_eviction
        self.path = path
        self.clock = clock or wall_clock
        self.metrics = metrics or Unmetered()
        self.read_early = read_early
        self.early_reads = EarlyReads(redis if read_early else None)

    @classmethod
    def from_settings(
        cls,
        redis: Any,
        settings: Any,
        session_class: Any = None,
        path: Optional[str] = None,
        metrics: Any = None,
    ) -> "RedisSessionStore":
        """The store that :class:`~session_redis.core.settings.Settings` describe."""
        options = {field: getattr(settings, field) for field in STORE_FIELDS}
        return cls(redis, session_class=session_class, path=path, metrics=metrics, **options)

    @property
    def prefix(self) -> str:
        return self.names.prefix

    @property
    def hash_ids(self) -> bool:
        return self.names.hash_ids

    @hash_ids.setter
    def hash_ids(self, value: bool) -> None:
        """Switch hashing at rest (a test switching a running store)."""
        self.names.hash_ids = value

    def logged_in_expiration(self) -> int:
        """Seconds a logged-in session lives: the setting, else the default."""
        return self.expiration or self.default_expiration()

    def default_expiration(self) -> int:
        """Without ``ODOO_SESSION_REDIS_EXPIRATION``: Odoo's own lifetime
        where the glue can read it, 7 days here."""
        return DEFAULT_EXPIRATION

    def anonymous_expiration(self) -> int:
        """Seconds a session without user lives: the setting, else the default."""
        return self.expiration_anonymous or self.default_anonymous_expiration()

    def default_anonymous_expiration(self) -> int:
        """Without ``ODOO_SESSION_REDIS_EXPIRATION_ANONYMOUS``: 3 hours here."""
        return DEFAULT_EXPIRATION_ANONYMOUS

    def ttl(self, data: Mapping[str, Any]) -> int:
        """Seconds to keep session ``data`` (see :func:`.expiry.ttl_for`);
        only the default that applies is looked up (on 16+ it is read from
        Odoo). The glue of an Odoo that ends some sessions sooner cuts it."""
        own = expiry.own_expiration(data)
        if own:
            return own
        return self.logged_in_expiration() if data.get("uid") else self.anonymous_expiration()

    # --- how sessions are named (see :class:`.names.Names`) ---

    def is_valid_key(self, key: object) -> bool:
        """Odoo's check of a cookie's id: one of this store's kind?"""
        return self.names.is_id(key)

    def key(self, sid: str) -> str:
        """The key session ``sid`` is written under."""
        return self.names.key(sid)

    def keys(self, entry: str) -> List[str]:
        """Every key the session named by ``entry`` may live under."""
        return self.names.keys(entry)

    def entry(self, sid: str) -> str:
        """What names session ``sid`` in its key and the indexes."""
        return self.names.entry(sid)

    def same_session(self, entry: str, sid: str) -> bool:
        return self.names.same(entry, sid)

    def index_key(self, db: str, uid: int) -> str:
        """The index of user ``uid``'s sessions in ``db``."""
        return self.names.user_index(db, uid)

    def is_identifier(self, identifier: object) -> bool:
        """Is ``identifier`` the device part of an id of this store's kind?"""
        return self.names.is_identifier(identifier)

    def activity_key(self, sid: str) -> str:
        return self.names.activity_key(sid)

    # --- the session-store API Odoo calls ---

    def generate_key(self, salt: Any = None) -> str:
        """A new random session id (40 hex characters, as werkzeug's)."""
        return hashlib.sha1(os.urandom(32)).hexdigest()

    def new(self) -> Any:
        """A new, empty session with a new id."""
        return self.session_class({}, self.generate_key(), True)

    def save_if_modified(self, session: Any) -> None:
        if getattr(session, self.save_flag, False):
            self.save(session)

    def get(self, sid: str) -> Any:
        """The stored session ``sid``. For an id that is well formed but not
        stored (expired, or never saved because it held nothing but Odoo's
        defaults), an empty new session: with :attr:`renew_missing` under a
        new id, else keeping the id, as Odoo 11's store does (the CSRF token
        of a form is derived from it; a login on it always gets a new id).
        A session idle for longer than its expiration now (a lifetime
        lowered since it was written) or past ``max_lifetime`` is ended."""
        if not self.names.is_id(sid):
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
        ttl = self.ttl(data)  # a shorter one than the key was written with holds too
        if expiry.lifetime_over(created, now, self.max_lifetime) or expiry.idle_over(touched, now, ttl):
            self._end([(sid, owner_of(data))])
            self.metrics.load("refused")
            return self.new()
        session = self.loaded_session(self.unsealed(data, sid), sid)
        owner = owner_of(data)
        remember(session, Loaded(sid, body_of(raw), created or now, touched, source, owner, indexed))
        # The save flag makes Odoo call save(), which rewrites the session. A
        # value without times (the older module's) is rewritten at once, so
        # that its lifetime is counted from now on rather than from every
        # read; one read from another key than its own is moved at once.
        if not created or source or self._touch_due(touched, now, ttl):
            setattr(session, self.save_flag, True)
        self.metrics.load("hit")
        return session

    def loaded_session(self, data: Dict[str, Any], sid: str) -> Any:
        """The session object of ``data``, just decoded from Redis."""
        return self.session_class(data, sid, False)

    def sealed(self, data: Mapping[str, Any], sid: str) -> Mapping[str, Any]:
        """Session ``data`` of ``sid`` as stored: the glue of an Odoo that
        keeps another session's id in a session encrypts it there (with
        hashing, nothing in Redis may be presented as an id)."""
        return data

    def unsealed(self, data: dict, sid: str) -> dict:
        """Stored session ``data`` of ``sid`` as the caller reads it: the
        reverse of :meth:`sealed`."""
        return data

    def contents(self, session: Any) -> Mapping[str, Any]:
        """The session's keys and values as a mapping that is cheap to read:
        a save reads them several times (the glue of a session class that
        is not a dict hands over the dict behind it)."""
        return session

    def save(self, session: Any, predecessor: Optional[Predecessor] = None) -> None:
        """Write ``session`` if it changed or its touch is due, never
        bringing back one that ended since its request read it (see
        :meth:`_write`). With a :class:`Predecessor` (Odoo 19's soft
        rotation, see :meth:`predecessor`), its previous id is written too,
        and neither is written if that previous id's session ended."""
        loaded = loaded_state(session)  # its id was checked when it was loaded
        if not loaded and not self.names.is_id(session.sid):
            # Odoo 16+ puts the cookie's id back on the session it gets,
            # whatever that id is: it never becomes a key
            session.sid = self.generate_key()
        now = self.clock()
        data = self.contents(session)
        created = loaded.created if loaded else now
        expiration = self.ttl(data)
        left = expiry.lifetime_left(created, now, self.max_lifetime)
        ttl = expiration if left is None else min(expiration, left)
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
        if not self.guarded("save", lambda: self._write(session.sid, raw, ttl, owner, loaded, index, before)):
            _logger.info("session %s ended while its request ran: not saved again", short_hash(session.sid))
            self.metrics.save("ended")
            return
        self.metrics.save("touched" if loaded and body == loaded.body else "written")
        remember(session, Loaded(session.sid, body, created, now, None, owner, indexed))

    def delete(self, session: Any) -> None:
        """End the session: delete every key it may live under, and its
        entries in the indexes (the owner it was loaded with: a logout
        empties the session before Odoo deletes it). Where ids name devices,
        a logged-in session's older ids on the same device (Odoo 19 keeps
        the previous id alive for a while after a soft rotation) end with it."""
        loaded = loaded_state(session)
        owner = loaded.owner if loaded else owner_of(session)
        if owner and self.names.identifier_length:
            listing = self._device_listing([session.sid[: self.names.identifier_length]], owner)
            self.guarded("delete", lambda: self._end_listed(listing, first=[(session.sid, owner)]))
            self.metrics.delete()
        else:
            self._end([(session.sid, owner)])
        self.forget(session)

    def forget(self, session: Any) -> None:
        """Let the next save of ``session`` write it whatever Redis holds:
        the caller ended it on purpose and keeps using it (a save otherwise
        never brings back a session that ended while it was loaded)."""
        remember(session, None)

    def _read(self, sid: str) -> Tuple[Optional[bytes], Optional[str]]:
        """``(raw bytes or None, the key read if not its own, else None)``:
        its own key first, the others only when it is missing. A key that
        is not a string reads as unreadable bytes (see :meth:`get`), not as
        Redis failing."""
        raw = self.guarded("load", lambda: self._get(self.names.key(sid)))
        if raw is not None:
            return raw, None
        for key in self.names.fallback_keys(sid):
            raw = self.guarded("load", functools.partial(self._get, key))
            if raw is not None:
                return raw, key
        return None, None

    def prefetch(self, sid: Any) -> None:
        """The request naming session ``sid`` has arrived: send its
        ``GET`` now, so that its round trip runs while the caller prepares
        the request (see :mod:`.early_reads`). The glue calls
        :meth:`drop_prefetch` when the request ends."""
        if self.early_reads.active and self.names.is_id(sid):
            self.early_reads.send(self.names.key(sid))

    def drop_prefetch(self) -> None:
        """The request ended: forget its early ``GET`` if nobody read it."""
        self.early_reads.drop()

    def _get(self, key: str) -> Optional[bytes]:
        read, raw = self.early_reads.take(key)
        if read:
            return raw
        try:
            return self.redis.get(key)
        except ResponseError as error:
            if not str(error).startswith("WRONGTYPE"):
                raise
            return NOT_A_STRING

    def _touch_due(self, touched: float, now: float, expiration: int) -> bool:
        """Is it time to push the expiry back (sliding expiry only)?"""
        return expiry.touch_due(self.sliding, self.touch_interval, touched, now, expiration)

    def guarded(self, action: str, command: Callable[[], Any]) -> Any:
        """Run ``command()``; a Redis failure becomes HTTP 503 and one log line.

        ``command`` must reach ``self.redis`` itself: a Cluster client is built
        on first use, so even looking up one of its methods can fail.
        """
        started = time.monotonic()
        try:
            result = command()
        except REDIS_ERRORS as error:
            advice = refusal_advice(error)
            if advice:
                _logger.error("session %s refused by Redis: %s; %s", action, error_text(error), advice)
            else:
                _logger.error("session %s failed, Redis unavailable: %s", action, error_text(error))
            self.metrics.unavailable()
            raise RedisUnavailable()
        self.metrics.redis_call(action, time.monotonic() - started)
        return result
