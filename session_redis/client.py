"""Build the redis-py client that :class:`Settings` describe.

Three ways to reach Redis, in order of precedence: Sentinel (ask the
sentinels where the master is), a URL, or host/port/password.
"""
from redis import Redis
from redis.sentinel import Sentinel

# A dead Redis must not hold an Odoo worker for long: fail fast and let the
# request answer 503 instead of waiting for the kernel's TCP time-outs.
SOCKET_TIMEOUT = 5
CONNECT_TIMEOUT = 2


def make_client(settings):
    """Return a :class:`redis.Redis` for ``settings``."""
    options = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "health_check_interval": 30,
    }
    if settings.sentinel_host:
        sentinel = Sentinel(
            [(settings.sentinel_host, settings.sentinel_port)],
            password=settings.password,
            sentinel_kwargs=dict(options),
            **options
        )
        return sentinel.master_for(settings.sentinel_master_name)
    if settings.url:
        return Redis.from_url(settings.url, **options)
    return Redis(host=settings.host, port=settings.port, password=settings.password, **options)
