"""Build the redis-py client that :class:`Settings` describe.

Ways to reach Redis, in order of precedence: Sentinel (ask the sentinels
where the master is), Cluster (any node's URL or host/port), a URL, or
host/port. TLS, ACL user, time-outs and retries apply to all.
"""

import threading
import time
from typing import Any, Callable, Dict

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.connection import Connection, SSLConnection
from redis.exceptions import ConnectionError, RedisClusterException, RedisError, ResponseError
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool

from .settings import sentinel_addresses

# What a Redis that is down, refusing or misconfigured raises: RedisCluster
# reports an unreachable cluster with an exception outside RedisError.
REDIS_ERRORS = (RedisError, RedisClusterException)


def error_text(error: Exception) -> str:
    """What a log may say of a Redis error. A refused command's text comes
    from redis-py with the command quoted in it (a pipeline's "Command # 1
    (SET session:<id> {... "session_token": ...}) of pipeline caused error:
    ..."): only the server's reason is kept, with the error's class.
    Connection errors name the host and port, never a password."""
    text = str(error)
    if isinstance(error, ResponseError):
        text = text.rsplit(" caused error: ", 1)[-1]
        if text.startswith("Command # "):  # a quoted command with no reason after it
            text = ""
    return "%s: %s" % (type(error).__name__, text) if text else type(error).__name__


class ClusterNotReady(RedisClusterException):
    """The cluster's nodes answer, but redis-py cannot map its slots yet."""


class LazyCluster:
    """A RedisCluster built on first use, and again until that works.

    RedisCluster contacts its nodes as soon as it is built; an unreachable
    cluster when Odoo starts must be a 503 for the requests until it is
    back, not an exception during start-up (which Odoo would swallow and
    carry on with filesystem sessions). A cluster whose nodes run but whose
    slots are not assigned yet (still being formed) makes redis-py fail
    with an ``IndexError`` or a ``KeyError`` instead of one of its own
    errors: that is the same outage, reported as :class:`ClusterNotReady`.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    try:
                        self._client = self._build()
                    except (IndexError, KeyError) as error:
                        raise ClusterNotReady("cluster not formed yet (%s)" % type(error).__name__) from error
        return getattr(self._client, name)


def is_cluster(client: Any) -> bool:
    """Does ``client`` spread keys over a Cluster's slots (so that no
    pipeline of several keys runs at once)?"""
    return isinstance(client, (LazyCluster, RedisCluster))


def _tls_options(settings: Any, from_url: bool) -> Dict[str, Any]:
    """TLS keyword arguments; a ``rediss://`` URL sets the connection class
    itself, ``ODOO_SESSION_REDIS_SSL`` upgrades anything else."""
    rediss = from_url and settings.url.startswith("rediss://")
    if not (settings.ssl or rediss):
        return {}
    options: Dict[str, Any] = {
        "ssl_cert_reqs": settings.ssl_cert_reqs,
        "ssl_check_hostname": settings.ssl_cert_reqs == "required",
        "ssl_ca_certs": settings.ssl_ca_certs,
        "ssl_certfile": settings.ssl_certfile,
        "ssl_keyfile": settings.ssl_keyfile,
    }
    if from_url and not rediss:
        options["connection_class"] = SSLConnection
    elif not from_url:
        options["ssl"] = True
    return options


def _connection_options(settings: Any, from_url: bool = False) -> Dict[str, Any]:
    """What every connection gets: fail fast, retry a broken connection once.

    A dead Redis must not hold an Odoo worker: time-outs are short, and only
    a refused, reset or stale pooled connection is retried, once, on a new
    connection after 0.1 to 0.5 s (a time-out is not retried, so a request
    never waits much longer than one time-out before its 503). TCP keepalive
    finds dead pooled connections. redis-py's own ``health_check_interval``
    is not used: in redis-py 5.0 it retries its check from inside the
    reconnection and recurses without end when Redis refuses the connection
    (a wrong password, a missing client certificate).
    """
    options: Dict[str, Any] = {
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.connect_timeout,
        # redis-py raises the OS's ConnectionRefusedError while it connects
        # and its own ConnectionError for a broken pooled connection: both
        # are retried (a restarting Redis), never a time-out
        "retry": Retry(
            ExponentialBackoff(cap=0.5, base=0.1),
            retries=1,
            supported_errors=(ConnectionError, ConnectionRefusedError),
        ),
        "retry_on_error": [ConnectionError],
    }
    if not (from_url and settings.url.startswith("unix://")):
        options["socket_keepalive"] = True  # unix sockets have no TCP keepalive
    options.update(_tls_options(settings, from_url))
    options.update(username=settings.username, password=settings.password)
    return options


def make_client(settings: Any) -> Any:
    """Return a redis-py client (``Redis`` or ``RedisCluster``) for ``settings``."""
    if settings.sentinel_host:
        return _sentinel_master(settings)
    from_url = bool(settings.url)
    options = _connection_options(settings, from_url)
    if settings.cluster:
        # a cluster has only database 0
        if from_url:
            return LazyCluster(lambda: RedisCluster.from_url(settings.url, **options))
        return LazyCluster(
            lambda: RedisCluster(host=settings.host, port=settings.port, **options)  # type: ignore[abstract]
        )
    if from_url:
        return Redis.from_url(settings.url, db=settings.db, **options)  # the URL's values win
    return Redis(host=settings.host, port=settings.port, db=settings.db, **options)


class FollowingMasterPool(SentinelConnectionPool):
    """A Sentinel pool that asks the sentinels for the master at most once
    per ``MASTER_CHECK_SECONDS`` and drops its idle connections when the
    master changed.

    redis-py's own pool asks only when it opens a connection: after a
    failover its pooled connections keep writing to the old master, which
    Sentinel demotes about ten seconds later, discarding those writes (the
    logins of that window). Checking once a second narrows that window to
    about a second.
    """

    MASTER_CHECK_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._master_checked = 0.0

    def get_connection(self, command_name: str, *keys: Any, **options: Any) -> Connection:
        now = time.monotonic()
        if now - self._master_checked >= self.MASTER_CHECK_SECONDS:
            self._master_checked = now
            try:
                self.get_master_address()
            except MasterNotFoundError:
                pass  # sentinels unreachable: keep the master we know
        return super().get_connection(command_name, *keys, **options)


def _sentinel_master(settings: Any) -> Any:
    options = _connection_options(settings)
    sentinel_options = dict(options, username=settings.sentinel_username, password=settings.sentinel_password)
    sentinel = Sentinel(
        sentinel_addresses(settings), sentinel_kwargs=sentinel_options, db=settings.db, **options
    )
    return sentinel.master_for(settings.sentinel_master_name, connection_pool_class=FollowingMasterPool)
