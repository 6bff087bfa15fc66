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
