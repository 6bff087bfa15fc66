"""Bulk work on a prefix's sessions, for the start-up migration and the
operator command: listing (SCAN, never KEYS), reading many keys in one
round trip, copying sessions in and ending many at once. Each call costs
a bounded number of round trips, whatever the number of sessions.
"""

import logging
from typing import Any, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from redis.exceptions import ResponseError

from ..batches import split_rows
from ..layout import ANY_SESSION_ID, glob_escape, legacy_session_key, session_key
from .indexes import SCAN_BATCH
from .names import Owner, short_hash
from .parts import StoreParts
from .values import NOT_A_STRING, decoded, encode_with_times, owner_of

_logger = logging.getLogger(__name__)


class Bulk(StoreParts):
    """Many sessions at a time, for :class:`~.session_store.RedisSessionStore`."""

    def list(self) -> List[str]:
        """Entries of the stored sessions of this prefix (ids, or with
        hashing their hashes), the older module's keys included (SCAN,
        never KEYS)."""
        return sorted({entry for entry, _key in self.scan()})

    def scan(self, others: Optional[List[str]] = None) -> Iterator[Tuple[str, bytes]]:
        """Yield ``(entry, key)`` once for every key holding a session of
        this prefix: documented keys first (named by id or by hash), then
        the older module's.

        Without a prefix, ``session:*`` also matches other prefixes' keys
        and the index keys: only keys ending in a well-formed entry right
        after the start are kept. SCAN may return a key twice while
        Redis resizes its tables: the keys seen are remembered so that every
        count is exact. A Cluster client scans every master. The entries of
        keys that hold another Odoo series' sessions (another form of id,
        in a Redis shared without distinct prefixes) are appended to
        ``others`` if given, never yielded.
        """
        starts = [(session_key("", self.names.prefix), self.names.is_entry)]
        if self.names.prefix:
            starts.append((legacy_session_key("", self.names.prefix), self.names.is_id))
        for start, wanted in starts:
            seen: Set[str] = set()
            for key in self.redis.scan_iter(match=glob_escape(start) + "*", count=SCAN_BATCH):
                entry = key.decode("utf-8", "replace")[len(start) :]
                if wanted(entry) and entry not in seen:
                    seen.add(entry)
                    yield entry, key
                elif others is not None and ANY_SESSION_ID.fullmatch(entry) and entry not in seen:
                    seen.add(entry)
                    others.append(entry)

    def values(self, keys: Sequence[Any], ttl: bool = False, memory: bool = False) -> List[Any]:
        """The stored bytes of ``keys`` (None for a key gone meanwhile; a key
        holding another Redis type than a string reads as
        :data:`~.values.NOT_A_STRING`, unreadable), in one round trip; with
        ``ttl`` and/or ``memory``, tuples that add the key's TTL and its
        MEMORY USAGE (None where Redis refuses that command)."""
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
            if isinstance(row[0], ResponseError) and str(row[0]).startswith("WRONGTYPE"):
                row[0] = NOT_A_STRING
            for result in row[: 1 + ttl]:
                if isinstance(result, Exception):
                    raise result
            if memory and isinstance(row[-1], Exception):
                row[-1] = None
            rows.append(tuple(row) if width > 1 else row[0])
        return rows

    def stored(self, entries: Sequence[str]) -> List[bool]:
        """For each entry (an id, or a hash), is the session stored (under
        any of its keys)? One round trip."""
        pipe = self.redis.pipeline(transaction=False)
        widths = []
        for entry in entries:
            keys = self.names.keys(entry)
            widths.append(len(keys))
            for key in keys:  # one EXISTS each: a Cluster spreads them
                pipe.exists(key)
        return [any(row) for row in split_rows(pipe.execute(), widths)]

    def add_many(self, sessions: Iterable[Tuple[str, Mapping[str, Any]]]) -> List[Optional[bool]]:
        """Store sessions given as ``(sid, data)`` that are not stored yet
        (under any of their keys), each with its time-to-live, and register
        the logged-in ones in their indexes; a session already in Redis is
        newer and kept. Return, for each session, True if written, False if
        already stored, None if over ``max_size`` or not a valid id. One
        round trip for the sessions (one more first for their other keys)
        and one for the indexes of those written.
        """
        now = self.clock()
        results: List[Optional[bool]] = []
        pending = []  # pending: (index in results, sid, raw, ttl, owner)
        for sid, data in sessions:
            if not self.names.is_id(sid):
                results.append(None)
                continue
            ttl = self.ttl(data)
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
                pipe.set(self.names.key(sid), raw, ex=ttl, nx=True)
            written = pipe.execute()
            pipe = self.redis.pipeline(transaction=False)
            checks = []
            for (index, sid, _raw, ttl, owner), done in zip(pending, written):
                results[index] = bool(done)
                if done and owner:
                    checks += self._index(pipe, sid, owner, ttl)
            self._lengthen(checks, pipe.execute())
        return results

    def too_large(self, data: Mapping[str, Any]) -> bool:
        """Would session ``data`` be refused for being over ``max_size``?"""
        now = self.clock()
        return len(encode_with_times(data, now, now)) > self.max_size

    def delete_many(self, entries: Sequence[str], owners: Optional[Sequence[Optional[Owner]]] = None) -> int:
        """End the sessions named by ``entries`` (ids or hashes: every key of
        each, and their index entries where ``owners``, aligned with
        ``entries``, names them), in one round trip; return how many of
        them were stored."""
        return self._end(list(zip(entries, owners or [None] * len(entries))), action=None)

    def _live(self, entries: Sequence[str]) -> List[Optional[dict]]:
        """For each entry, its stored session data (under its own key, else
        another of its keys), or None if gone or unreadable. One round trip."""
        keys = [self.names.keys(entry) for entry in entries]
        rows = self.values([key for some in keys for key in some])
        live = []
        for row in split_rows(rows, [len(some) for some in keys]):
            item = decoded(next((raw for raw in row if raw is not None), None))
            live.append(item[0] if item else None)
        return live
