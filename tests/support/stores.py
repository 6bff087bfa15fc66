"""Stores the tests build in their own process, on a real Redis."""

import base64
import os
import re

from session_redis.core.store import RedisSessionStore


class DeviceStore(RedisSessionStore):
    """The store with Odoo 18's ids, and werkzeug's session class (which
    sets ``modified`` whenever it is changed)."""

    id_pattern = re.compile(r"[A-Za-z0-9_-]{84}")
    identifier_length = 42
    save_flag = "modified"

    def generate_key(self, salt=None):
        return base64.urlsafe_b64encode(os.urandom(63)).decode("ascii")  # 84 characters


def new_identifier():
    return base64.urlsafe_b64encode(os.urandom(63)).decode("ascii")[:42]


class Clock(object):
    """A clock the test moves by hand (Redis TTLs still run in real time)."""

    def __init__(self):
        self.now = 1000000.0

    def __call__(self):
        return self.now


def commands(client):
    """Commands the server ran since the last call, by name."""
    stats = client.info("commandstats")
    client.config_resetstat()
    return {
        name[len("cmdstat_") :]: value["calls"]
        for name, value in stats.items()
        if not name.startswith(("cmdstat_config", "cmdstat_info"))
    }


def dump(client, match="*"):
    """Every key name and every stored string or set member in Redis (of the
    keys ``match`` matches)."""
    found = []
    for key in client.scan_iter(match=match):
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key))
        elif kind == b"set":
            found.extend(client.smembers(key))
    return b"\n".join(found).decode()
