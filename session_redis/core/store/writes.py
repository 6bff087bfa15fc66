"""The one way session keys change: every write and every end of a
session goes through :class:`Writes`, so that an ended session stays
ended on every path.

A request writes what it read. A write is proved by the key the session
was read from (see :meth:`Writes._write`): a session that ended since its
request read it (a logout, a revoked device, a new password, on any node)
is never written again, nor is a successor of it (Odoo 19's soft
rotation). Ending a session deletes all its keys at once (see
:meth:`Writes._end`), so that a move between two of its keys sees all of
them or none.
"""

import collections
import logging
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from redis.exceptions import ResponseError

from ..batches import grouped, split_rows
from ..client import is_cluster
from .names import Owner
from .parts import StoreParts
from .values import Loaded, encode_with_times, loaded_state

_logger = logging.getLogger(__name__)

# Odoo 19's soft rotation: the id a session had before it took a new one,
# what that id keeps for its grace period (pointing at the new one), and
# what its request read (see Writes.predecessor).
Predecessor = collections.namedtuple("Predecessor", "sid data loaded")

# One key a write sets: ``SET key raw EX ttl [XX | NX]``.
Put = collections.namedtuple("Put", "key raw ttl condition")


class Writes(StoreParts):
    """Writing and ending sessions, for :class:`~.session_store.RedisSessionStore`."""

    def predecessor(self, session: Any, data: Mapping[str, Any]) -> Predecessor:
        """What :meth:`save` needs to write ``session``'s current id as the
        predecessor of the id it is about to take (Odoo 19's soft
        rotation), keeping ``data``: call it before changing the id."""
        return Predecessor(session.sid, data, loaded_state(session))

    def _predecessor_put(self, predecessor: Predecessor, now: float) -> Tuple[str, Put, Optional[str]]:
        """``(sid, put, source)``: how :meth:`_write` writes a predecessor's
        id, proved like any save of what its request read."""
        sid, data, loaded = predecessor
        created = loaded.created if loaded else now
        indexed = loaded.indexed if loaded and loaded.owner else 0
        raw = encode_with_times(self.sealed(data, sid), created, now, indexed)
        source = loaded.source if loaded else None
        condition = "NX" if source else "XX" if loaded else None
        return sid, Put(self.names.key(sid), raw, self.ttl(data), condition), source

    def _write(
        self,
        sid: str,
        raw: bytes,
        ttl: int,
        owner: Optional[Owner],
        loaded: Optional[Loaded],
        index: bool,
        before: Optional[Tuple[str, Put, Optional[str]]] = None,
    ) -> bool:
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
        indexes again (:meth:`~.indexes.Indexes._end_listed`): a new id
        whose proof succeeded just before the end was indexed before its
        proof, so the second read finds it.

        Index entries (see :meth:`_index`) go in the same round trip as the
        first ``SET``; the per-user limit applies once the write is proved."""
        source = loaded.source if loaded else None
        previous = loaded.owner if loaded else None
        leaves = previous is not None and previous != owner
        joins = owner if index else None  # the owner whose indexes this write joins
        limit = self.max_sessions_per_user if joins and previous != joins else None
        put = Put(self.names.key(sid), raw, ttl, "NX" if source else "XX" if loaded else None)
        if not (index or leaves or source or before):
            return self._set(self.redis, put) is not None
        pipe = self.redis.pipeline(transaction=False)
        self._set(pipe, put)
        if leaves or (source and previous):  # what stays is added again below
            for key, members in grouped(self.names.indexes_of(sid, previous, every_form=True)):
                pipe.srem(key, *members)
        checks = []
        if joins:
            checks = self._index(pipe, sid, joins, ttl)
            if limit:
                pipe.scard(self.names.user_index(*joins))
        results = pipe.execute(raise_on_error=False)
        if isinstance(results[0], Exception):
            raise results[0]
        if joins and any(isinstance(result, ResponseError) for result in results[1:]):
            self._repair_indexes(sid, joins, ttl)
        elif checks:
            self._lengthen(checks, results)
        written = self._proved(sid, put, source, results[0] is not None)
        if written and before:
            before_sid, before_put, before_source = before
            done = self._set(self.redis, before_put) is not None
            written = self._proved(before_sid, before_put, before_source, done)
        if not written:
            self._end([(sid, owner)], action=None)  # what was just written, its index entries
            return False
        if joins and limit and results[-1] > limit:
            self._keep_newest(joins, sid, limit)
        return True

    def _proved(self, sid: str, put: Put, source: Optional[str], done: bool) -> bool:
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
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(source)  # a DEL each: a Cluster spreads them over slots
        for key in self.names.keys(sid)[1:] + [self.names.other_activity_key(sid)]:
            if key != source:
                pipe.delete(key)
        if pipe.execute()[0]:
            return True
        self._end([(sid, None)], action=None)
        return False

    @staticmethod
    def _set(client: Any, put: Put) -> Any:
        """``SET key raw EX ttl [XX|NX]`` on ``client`` (a pipeline queues
        it); one command, without redis-py's option parsing."""
        command = ["SET", put.key, put.raw, "EX", put.ttl]
        if put.condition:
            command.append(put.condition)
        return client.execute_command(*command)

    def _end(
        self,
        sessions: Sequence[Tuple[str, Optional[Owner]]],
        action: Optional[str] = "delete",
        drops: Sequence[Tuple[str, str]] = (),
    ) -> int:
        """Delete every key of each ``(entry, owner)`` (its activity records
        too) and its index entries, and remove the ``(index, member)`` pairs
        ``drops``; return the number of sessions that had a key. ``action``
        names the request step for the 503 guard (None: an operator job,
        whose caller reports Redis errors itself).

        A session's keys go at once (one ``DEL`` of them all): a request
        moving the session from one of its keys to another (see
        :meth:`_write`) sees either all or none of them gone. A Cluster
        deletes them slot by slot: they are deleted a second time once the
        first round is done, which catches a key such a move wrote in
        between."""
        if not sessions and not drops:
            return 0
        clustered = is_cluster(self.redis)

        def delete() -> List[int]:
            if len(sessions) == 1 and not sessions[0][1] and not drops:
                keys = self.names.keys(sessions[0][0]) + self.names.activity_keys(sessions[0][0])
                counts = [self.redis.delete(*keys)]  # split by slot on a Cluster
                if clustered:
                    self.redis.delete(*keys)
                return counts
            pipe = self.redis.pipeline(transaction=False)
            widths = []
            for entry, _owner in sessions:
                keys = self.names.keys(entry)
                if clustered:  # a DEL each: a Cluster spreads them over slots
                    widths.append(len(keys))
                    for key in keys:
                        pipe.delete(key)
                else:
                    widths.append(1)
                    pipe.delete(*keys)
            entries = []
            for entry, owner in sessions:
                for key in self.names.activity_keys(entry):  # see the block for other addons below
                    pipe.delete(key)
                if owner:
                    entries.extend(self.names.indexes_of(entry, owner, every_form=True))
            for key, members in grouped(entries + list(drops)):
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
                    for key in self.names.keys(entry):
                        again.delete(key)
                again.execute()
            return [sum(row) for row in split_rows(counts, widths)]

        if not action:
            return sum(1 for count in delete() if count)
        counts = self.guarded(action, delete)
        self.metrics.delete()
        return sum(1 for count in counts if count)
