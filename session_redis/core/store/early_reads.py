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
client sends nothing early. Any failure while sending
drops the early read; a broken connection while reading falls back to
the client's own ``GET`` (with its retry); a time-out is a failure, so
that a request never waits two time-outs for its 503.
"""

import threading
from typing import Any, Optional, Tuple

from redis.exceptions import ConnectionError, ResponseError

from ..client import REDIS_ERRORS, is_cluster
from .values import NOT_A_STRING


class EarlyReads:
    """At most one ``GET`` in flight per thread (a greenlet under gevent),
    on a connection taken from the client's pool until its reply is read
    or dropped."""

    def __init__(self, redis: Any) -> None:
        """``redis``: the client, None for no early reads."""
        self.pool: Any = None if is_cluster(redis) else getattr(redis, "connection_pool", None)
        self.pending = threading.local()

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
            connection = self.pool.get_connection("GET")
        except REDIS_ERRORS + (OSError,):
            return
        try:
            connection.send_command("GET", key)
        except REDIS_ERRORS + (OSError,):
            self._release(connection, broken=True)
            return
        self.pending.sent = (key, connection)

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
        if broken:
            connection.disconnect()
        self.pool.release(connection)
