"""A session's ``GET`` sent as the request arrives, its reply read when
Odoo asks for the session.

A read that changes nothing costs a Redis round trip where Odoo's files
cost a read from the page cache. The WSGI glue knows the cookie's id as
soon as a request arrives; Odoo asks the store for the session only after
building its request objects. Sending the ``GET`` at the first moment and
reading its reply at the second lets the round trip run while Odoo works.

What is read is what Redis held after the request arrived, as before:
a session ended before then is never served. One ended while the request
ran is, exactly as when the ``GET`` was sent later; its save is still
refused by the one write path (:mod:`.writes`).

Only for a client with one connection pool (plain Redis, a Sentinel
master), and unless ``ODOO_SESSION_REDIS_READ_EARLY`` is off: a Cluster
client sends nothing early. A time-out, while connecting, sending or
reading, is the read's failure, raised when the session is asked for, so
that a request never waits two time-outs for its 503 (a new connection to
a Redis that hangs times out in its handshake). Any other failure while
sending drops the early read, and a broken connection while reading falls
back to the client's own ``GET`` (with its retry).

With a plain Redis the early reads keep connections of their own, made
like the pool's (same class and settings), in a short free list: every
connection taken from redis-py's pool is first polled for stray data (two
socket mode changes and a ``recv``) under the pool's lock, about a third
of the client's CPU time per ``GET`` on this path, and a connection of
this list can hold nothing stray: its one reply is always read, or the
connection closed. One the server closed meanwhile (a Redis restarted)
fails when its reply is read, and the client's own ``GET`` reads instead.
A Sentinel master's reads take the pool's connections, which follow a
failover (:class:`~session_redis.core.client.FollowingMasterPool`): kept
ones would read the old master's sessions until it is demoted.
"""

import os
import threading
from typing import Any, List, Optional, Tuple

from redis.exceptions import ConnectionError, ResponseError, TimeoutError
from redis.sentinel import SentinelConnectionPool

from ..client import REDIS_ERRORS, is_cluster
from .values import NOT_A_STRING

# Idle connections kept for the next early reads: a prefork worker uses
# one; threads or greenlets reading at once make more, closed when back
# beyond this many.
KEPT_IDLE = 4


class EarlyReads:
    """At most one ``GET`` in flight per thread (a greenlet under gevent),
    on a connection of its own until its reply is read or dropped.

    ``pending.sent`` is None, ``(key, connection)`` or, for a ``GET`` that
    timed out before it was sent, ``(key, error)``.
    """

    def __init__(self, redis: Any) -> None:
        """``redis``: the client, None for no early reads."""
        self.pool: Any = None if is_cluster(redis) else getattr(redis, "connection_pool", None)
        self.pending = threading.local()
        self.own_connections = not isinstance(self.pool, SentinelConnectionPool)
        self.idle: List[Any] = []
        self.pid = os.getpid()

    @property
    def active(self) -> bool:
        """Does :meth:`send` send anything (off, or a Cluster client: no)?"""
        return self.pool is not None

    def send(self, key: str) -> None:
        """Send ``GET key`` without waiting for the reply (nothing on failure)."""
        if self.pool is None:
            return
        self.drop()
        try:
            connection = self._connection()
        except TimeoutError as error:
            self.pending.sent = (key, error)
            return
        except REDIS_ERRORS + (OSError,):
            return
        try:
            connection.send_packed_command(connection.pack_command("GET", key), check_health=False)
        except TimeoutError as error:  # the caller's own GET would wait as long again
            self._release(connection, broken=True)
            self.pending.sent = (key, error)
            return
        except REDIS_ERRORS + (OSError,):
            self._release(connection, broken=True)
            return
        self.pending.sent = (key, connection)

    def _connection(self) -> Any:
        """The pool's (Sentinel), or an idle one of this process, or a new
        one (it connects when it first sends)."""
        if not self.own_connections:
            return self.pool.get_connection("GET")
        if self.pid != os.getpid():  # a forked worker: its parent's sockets are not its own
            self.idle, self.pid = [], os.getpid()
        try:
            return self.idle.pop()
        except IndexError:
            return self.pool.connection_class(**self.pool.connection_kwargs)

    def take(self, key: str) -> Tuple[bool, Optional[bytes]]:
        """``(True, value)`` if a ``GET`` of ``key`` was sent early and its
        reply read now, ``(False, None)`` if the caller must ask Redis
        itself (none sent, another key, the connection broke). A value of
        another Redis type reads as :data:`~.values.NOT_A_STRING`."""
        if self.pool is None:
            return False, None
        sent = self._sent()
        if sent is None:
            return False, None
        if sent[0] != key:
            self._drop(sent)
            return False, None
        connection = sent[1]
        if isinstance(connection, TimeoutError):
            raise connection
        try:
            value = connection.read_response()
        except ResponseError as error:
            self._release(connection)
            if str(error).startswith("WRONGTYPE"):
                return True, NOT_A_STRING
            raise
        except ConnectionError:
            self._release(connection, broken=True)
            return False, None  # a Redis restarted since the connection was made
        except BaseException:
            self._release(connection, broken=True)
            raise
        self._release(connection)
        return True, value

    def drop(self) -> None:
        """Forget a ``GET`` sent early whose session nobody asked for (a
        request that ended before loading it): its reply is read and
        thrown away, or its connection closed."""
        if self.pool is None:
            return
        sent = self._sent()
        if sent is not None:
            self._drop(sent)

    def _sent(self) -> Optional[Tuple[str, Any]]:
        sent = getattr(self.pending, "sent", None)
        self.pending.sent = None
        return sent

    def _drop(self, sent: Tuple[str, Any]) -> None:
        connection, broken = sent[1], True
        if isinstance(connection, TimeoutError):
            return  # nothing was sent
        try:
            connection.read_response()
            broken = False
        except ResponseError:
            broken = False
        except Exception:
            pass  # best effort: the connection is closed
        finally:
            self._release(connection, broken)

    def _release(self, connection: Any, broken: bool = False) -> None:
        if not self.own_connections:
            if broken:
                connection.disconnect()
            self.pool.release(connection)
        elif broken or len(self.idle) >= KEPT_IDLE:
            connection.disconnect()
        else:
            self.idle.append(connection)
