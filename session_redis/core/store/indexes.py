"""The indexes: which sessions a user has (``session:[<p>:]user:<uid>:<db>``)
and which a device identifier has (Odoo 18+, ``session:[<p>:]device:<id>``),
so that a revocation, *Log out all devices*, a new password or the
per-user limit ends them without scanning the keyspace.

A session joins its indexes when it is written logged in (in the same
round trip, see :meth:`~.writes.Writes._write`) and leaves them when it
ends. Ending what an index lists reads it again until nothing new is
listed (:meth:`Indexes._end_listed`). Reading an index writes nothing;
``rebuild_index`` is the one method that repairs them.
"""

import collections
import logging
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from redis.exceptions import ResponseError

from ..batches import BATCH, batches, split_rows
from ..client import error_text
from ..layout import ANY_SESSION_ID, HASHED_ID, index_patterns, session_key
from . import expiry
from .names import Owner, short_hash
from .parts import StoreParts
from .values import LOGIN_INFO, Loaded, decoded, owner_of

_logger = logging.getLogger(__name__)

SCAN_BATCH = 1000
# How often ending the sessions an index lists reads it again (see
# Indexes._end_listed): one more than a race needs.
MAX_END_ROUNDS = 3

# What an index lists: this store's entries (ids or hashes), ids of another
# Odoo series sharing the keyspace, and members that are no id at all (bytes).
IndexEntries = collections.namedtuple("IndexEntries", "ours foreign junk")

# What ending through indexes reads: the index keys that list a session, its
# entry and its owner if known (see Indexes._end_listed).
Listed = Tuple[List[str], str, Optional[Owner]]

# A user's session as the per-user index lists it: its entry (the id, or its
# hash), Unix times, seconds left.
UserSession = collections.namedtuple("UserSession", "entry created touched expires_in login_info")


class Indexes(StoreParts):
    """The per-user and device indexes, for :class:`~.session_store.RedisSessionStore`."""

    def user_sessions(self, db: str, uid: int) -> List[UserSession]:
        """The live sessions of user ``uid`` in ``db``, oldest first, as
        :class:`UserSession`; index entries whose session ended are left
        out (and left: a listing writes nothing)."""
        index = self.names.user_index(db, uid)
        entries = sorted(self._members(index))
        keys = [self.names.keys(entry) for entry in entries]
        rows = self.values([key for some in keys for key in some], ttl=True)
        found = []
        for entry, row in zip(entries, split_rows(rows, [len(some) for some in keys])):
            # its own key, else another (until its next save moves it)
            raw, ttl = next((value for value in row if value[0] is not None), (None, -2))
            item = decoded(raw)
            if item is not None and owner_of(item[0]) == (db, uid):
                data, created, touched = item
                found.append(UserSession(entry, created, touched, ttl, data.get(LOGIN_INFO) or {}))
        return sorted(found, key=lambda session: (session.created, session.entry))

    def end_user_sessions(self, db: str, uid: int, keep: Optional[str] = None) -> int:
        """End every session of user ``uid`` in ``db`` but ``keep`` (a
        session id); return how many were stored. Three round trips."""
        index = self.names.user_index(db, uid)

        def listing() -> List[Listed]:
            return [([index], entry, (db, uid)) for entry in self._members(index)]

        return self._end_listed(listing, keep=keep)

    def _end_listed(
        self,
        listing: Callable[[], List[Listed]],
        keep: Optional[str] = None,
        first: Sequence[Tuple[str, Optional[Owner]]] = (),
    ) -> int:
        """End the sessions ``first`` (``(entry, owner)`` pairs) and every
        session the indexes read by ``listing()`` list (``(index keys,
        entry, owner or None)``), but ``keep`` (a session id); return how
        many were stored. The indexes are read again after each round until
        they list nothing new: a request that wrote a session before its
        proof failed (see :meth:`_write`), a soft rotation's new id, had
        indexed it by then."""
        seen: Set[str] = set()
        count, sessions = 0, list(first)
        for _round in range(MAX_END_ROUNDS):
            listed = [
                (indexes, entry, owner)
                for indexes, entry, owner in listing()
                if entry not in seen and not (keep and self.names.same(entry, keep))
            ]
            unknown = [entry for _indexes, entry, owner in listed if owner is None]
            owners = {
                entry: owner_of(data) if data else None for entry, data in zip(unknown, self._live(unknown))
            }
            sessions += [(entry, owner or owners[entry]) for _indexes, entry, owner in listed]
            drops = [(index, entry) for indexes, entry, _owner in listed for index in indexes]
            if not sessions and not drops:
                break
            count += self._end(sessions, action=None, drops=drops)
            seen.update(entry for entry, _owner in sessions)
            sessions = []
        return count

    def identifier_members(self, identifiers: Iterable[str]) -> List[Tuple[str, Optional[str]]]:
        """What the device indexes list, in one round trip whatever the size
        of the keyspace: ``(identifier, None)`` for each valid identifier,
        then ``(identifier, entry)`` for each session entry listed under it
        (an entry may outlive its session). Invalid identifiers are left
        out."""
        wanted = sorted({item for item in identifiers if self.names.is_identifier(item)})
        if not wanted:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for identifier in wanted:
            for key in self.names.device_indexes(identifier):
                pipe.smembers(key)
        found = iter(pipe.execute(raise_on_error=False))
        members: List[Tuple[str, Optional[str]]] = [(identifier, None) for identifier in wanted]
        for identifier in wanted:
            entries = set()
            for _key in self.names.device_indexes(identifier):
                listed = next(found)
                if isinstance(listed, ResponseError):  # not a set: lists nothing, ended with the rest
                    continue
                for item in listed:
                    entry = item.decode("utf-8", "replace")
                    plain = entry.startswith(identifier) and self.names.is_id(entry)
                    if plain or HASHED_ID.fullmatch(entry):
                        entries.add(entry)
            members.extend((identifier, entry) for entry in sorted(entries))
        return members

    def _device_listing(
        self, identifiers: Iterable[str], owner: Optional[Owner] = None
    ) -> Callable[[], List[Listed]]:
        """What the device indexes of ``identifiers`` list, for
        :meth:`_end_listed`: their sessions' owner is ``owner`` if known."""

        def listing() -> List[Listed]:
            return [
                (self.names.device_indexes(identifier), entry, owner)
                for identifier, entry in self.identifier_members(identifiers)
                if entry
            ]

        return listing

    def end_identifiers(self, identifiers: Iterable[str], keep: Optional[str] = None) -> int:
        """End every session of these device identifiers but ``keep`` (a
        session id), emptying their indexes; return how many sessions were
        stored. Invalid identifiers end nothing. Four or five round trips.
        Without ``keep``, the indexes are deleted last, whatever they hold
        (something else than a set included): once the sessions they
        listed ended, a session written later is refused (see
        :meth:`_write`)."""
        identifiers = list(identifiers)
        count = self._end_listed(self._device_listing(identifiers), keep=keep)
        valid = [item for item in identifiers if self.names.is_identifier(item)]
        indexes = [key for identifier in valid for key in self.names.device_indexes(identifier)]
        if indexes and not keep:
            self.redis.delete(*indexes)  # split by slot on a Cluster
        return count

    def missing_identifiers(self, identifiers: Iterable[str]) -> Set[str]:
        """The valid identifiers none of whose sessions can be loaded: two
        round trips per batch of identifiers, existence checks only."""
        missing: Set[str] = set()
        for batch in batches(identifiers):
            members = self.identifier_members(batch)
            entries = [entry for _identifier, entry in members if entry]
            live = {entry for entry, present in zip(entries, self.stored(entries)) if present}
            missing.update(identifier for identifier, _entry in members)
            missing.difference_update(identifier for identifier, entry in members if entry in live)
        return missing

    def rebuild_index(
        self, batch: int = BATCH, progress: Optional[Callable[[int], None]] = None
    ) -> Tuple[int, int]:
        """Register every logged-in session of this prefix in its indexes
        (sessions written before the indexes existed, or by the older
        module), and repair the indexes: one that is not a set is deleted,
        members that are no session entry at all are removed (another
        series' ids are kept); return ``(sessions indexed, users)``."""
        indexed, users = 0, set()  # type: Tuple[int, Set[Owner]]
        for pairs in batches(self.scan(), batch):
            indexed += self._index_batch(pairs, users)
            if progress:
                progress(indexed)
        for pattern in index_patterns(self.names.prefix):
            for index in self.redis.scan_iter(match=pattern, count=SCAN_BATCH):
                self._repair_index(index)
        return indexed, len(users)

    def _repair_index(self, index: bytes) -> None:
        """Delete an index key that is not a set; remove its junk members."""
        if self.redis.type(index) != b"set":
            _logger.warning("session index %s is not a set: deleted", index)
            self.redis.delete(index)
            return
        junk = self.index_entries(index).junk
        if junk:
            _logger.warning("session index %s: %d entries that are no session ids removed", index, len(junk))
            self.redis.srem(index, *junk)

    def index_entries(self, index: Any) -> IndexEntries:
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
            if self.names.is_entry(entry):
                listed.ours.append(entry)
            elif ANY_SESSION_ID.fullmatch(entry):
                listed.foreign.append(entry)
            else:
                listed.junk.append(item)
        return listed

    def _members(self, index: str) -> List[str]:
        """The session entries of this store an index lists (see
        :meth:`index_entries`): nothing else is acted on, no key is ever
        derived from anything else."""
        return self.index_entries(index).ours

    def _index_batch(self, pairs: List[Tuple[str, bytes]], users: Set[Owner]) -> int:
        pipe = self.redis.pipeline(transaction=False)
        indexed = 0
        checks: List[Tuple[int, str, int]] = []
        for (entry, _key), (raw, ttl) in zip(pairs, self.values([key for _entry, key in pairs], ttl=True)):
            item = decoded(raw)
            owner = item and owner_of(item[0])
            if owner:
                checks += self._index(pipe, entry, owner, ttl)
                users.add(owner)
                indexed += 1
        self._lengthen(checks, pipe.execute())
        return indexed

    def _index(self, pipe: Any, entry: str, owner: Owner, ttl: int) -> List[Tuple[int, str, int]]:
        """Queue the index entries of logged-in session ``entry`` (see
        :meth:`_index_entries`), each index's expiry
        pushed to at least :meth:`_index_ttl` from now, never brought
        forward (``EXPIRE ... NX`` for a new index, ``GT`` for one that may
        already live longer for another session). Before Redis 7.0, which
        has neither, the index's ``TTL`` is read in the same round trip and
        the pushes that lengthen it are left to :meth:`_lengthen`, called
        with what this returns, ``(position in the pipeline, index,
        seconds)`` (empty on 7.0 and later), and the pipeline's results."""
        seconds = self._index_ttl(ttl)
        options = self._expire_options()
        checks = []
        for key, member in self.names.indexes_of(entry, owner):
            pipe.sadd(key, member)
            if options:
                pipe.execute_command("EXPIRE", key, seconds, "NX")
                pipe.execute_command("EXPIRE", key, seconds, "GT")
            else:
                checks.append((len(pipe.command_stack), key, seconds))
                pipe.ttl(key)
        return checks

    def _lengthen(self, checks: Sequence[Tuple[int, str, int]], results: Sequence[Any]) -> None:
        """Before Redis 7.0: push the expiry of each index that the
        ``TTL`` read by :meth:`_index` found shorter than wanted, never
        bringing one forward: a plain ``EXPIRE`` of a short session's push
        would otherwise cut the index of a user's longer session, which a
        revocation would then miss. Two pushes of one index between these
        two round trips can still leave the shorter one (a window of one
        round trip, on two logins of one user with different lifetimes)."""
        wanted: Dict[str, int] = {}
        for position, key, seconds in checks:
            left = results[position]
            if isinstance(left, int) and left < seconds:
                wanted[key] = max(seconds, wanted.get(key, 0))
        if wanted:
            pipe = self.redis.pipeline(transaction=False)
            for key, seconds in sorted(wanted.items()):
                pipe.expire(key, seconds)
            pipe.execute()

    def _index_due(self, loaded: Optional[Loaded], owner: Optional[Owner], now: float, ttl: int) -> bool:
        """Must this save of a session of ``owner`` write its indexes? Only
        when it joins them (a login, a new owner, a session whose indexes
        are not known to hold it) or when it would outlive them: otherwise
        the save is a single ``SET``. On a Redis allowed to evict
        (``ALLOW_EVICTION``), every save: an evicted index heals at the
        next save of each session it listed."""
        if not owner:
            return False
        if self.allow_eviction:
            return True
        if not (loaded and loaded.owner == owner and loaded.indexed and not loaded.source):
            return True
        return now + ttl > loaded.indexed or self.expire_options is False

    def _expire_options(self) -> bool:
        """Does this Redis take ``EXPIRE ... NX | GT`` (7.0 and later)?
        Asked once, with an ``EXPIRE`` of a key that never exists."""
        if self.expire_options is None:
            try:
                probe = session_key("expire-options", self.names.prefix)  # never exists
                self.redis.execute_command("EXPIRE", probe, 1, "NX")
                self.expire_options = True
            except ResponseError:
                _logger.warning(
                    "Redis before 7.0: every save of a logged-in session also pushes its index's expiry"
                )
                self.expire_options = False
        return self.expire_options

    def _keep_newest(self, owner: Owner, sid: str, limit: int) -> None:
        """A login made user ``owner`` hold more than ``limit`` sessions: end
        the oldest (through the index, on every node) so that ``limit`` are
        left, the new one ``sid`` included."""
        listed = self.user_sessions(*owner)
        others = [session.entry for session in listed if not self.names.same(session.entry, sid)]
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

    def _repair_indexes(self, sid: str, owner: Owner, ttl: int) -> None:
        """An index key that is not a set (written by something else) made
        registering ``sid`` fail: it is replaced by a set, with a warning, so
        that the user's logins keep working and revocation finds them."""
        for key, _member in self.names.indexes_of(sid, owner):
            if self.redis.type(key) not in (b"set", b"none"):
                _logger.warning("session index %s was not a set: replaced", key)
                self.redis.delete(key)
        pipe = self.redis.pipeline(transaction=False)
        checks = self._index(pipe, sid, owner, ttl)
        self._lengthen(checks, pipe.execute())

    def _index_ttl(self, ttl: int) -> int:
        """Seconds an index lives after a push (see :func:`.expiry.index_ttl`)."""
        return expiry.index_ttl(ttl, self.logged_in_expiration())
