"""What the load tests of every series share: users to log in as, JSON-RPC
over a client's own cookies, and a record of latencies and failures."""

import json
import random
import re
import threading
import time

# The cart count in a shop page's header (Odoo 11 to 19).
CART = re.compile(r'class="my_cart_quantity[^"]*"[^>]*>\s*(\d*)\s*<')


def create_users(node, admin_sid, count):
    """``count`` users, so that each client's session holds its own user."""
    logins = []
    for number in range(count):
        login = "load%d_%d" % (number, random.randrange(10**6))
        response = node.json(
            "/web/dataset/call_kw",
            {
                "model": "res.users",
                "method": "create",
                "kwargs": {},
                "args": [{"name": login, "login": login, "password": login}],
            },
            session_id=admin_sid,
        )
        assert "result" in response.json(), response.text
        logins.append(login)
    return logins


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def jsonrpc(http, url, params):
    return http.post(
        url,
        data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}),
        headers={"Content-Type": "application/json"},
        timeout=70,
    )


class Record(object):
    """Latencies per kind of request (``kinds``), and what went wrong."""

    def __init__(self, *kinds):
        self.lock = threading.Lock()
        self.latencies = {kind: [] for kind in kinds}
        self.failures = []

    def timed(self, kind, call, *args, **kwargs):
        started = time.monotonic()
        response = call(*args, **kwargs)
        with self.lock:
            self.latencies[kind].append(time.monotonic() - started)
            if response.status_code >= 500:
                self.failures.append("HTTP %d on %s" % (response.status_code, response.url))
        return response

    def took(self, kind, seconds):
        with self.lock:
            self.latencies[kind].append(seconds)

    def fail(self, what):
        with self.lock:
            self.failures.append(what)
