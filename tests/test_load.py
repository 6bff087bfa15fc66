"""Two prefork Odoo 11 nodes sharing Redis under concurrent logged-in
traffic spread over both without stickiness, and concurrent requests on one
session. ``LOAD_SECONDS`` and ``LOAD_CLIENTS`` set the size (``make load``
runs the long version)."""

import concurrent.futures
import json
import os
import random
import threading
import time

import requests

from session_redis.store import session_key
from tests.servers import free_port

SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "20"))


def prefork(node):
    node.extra_args = ["--workers=2", "--longpolling-port=%d" % free_port(), "--limit-time-real=600"]
    return node.start()


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
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_concurrent_clients_over_two_prefork_nodes(odoo_nodes, redis_client, figure):
    nodes = [prefork(odoo_nodes(name, start=False)) for name in ("a", "b")]
    logins = create_users(nodes[0], nodes[0].login(), CLIENTS)
    lock = threading.Lock()
    latencies, failures = [], []

    def client(login):
        sid = random.choice(nodes).login(login, login)
        http = requests.Session()
        http.cookies["session_id"] = sid
        deadline = time.monotonic() + SECONDS
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}})
        while time.monotonic() < deadline:
            node = random.choice(nodes)
            started = time.monotonic()
            response = http.post(
                node.url + "/web/session/get_session_info",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            elapsed = time.monotonic() - started
            result = response.json().get("result") if response.status_code == 200 else None
            with lock:
                latencies.append(elapsed)
                if response.status_code >= 500:
                    failures.append("%s: HTTP %d" % (login, response.status_code))
                elif not result or result["username"] != login or result["session_id"] != sid:
                    failures.append("%s: logged out or wrong session" % login)
        return login, sid

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        sessions = [future.result() for future in [pool.submit(client, login) for login in logins]]

    intact = sum(
        1 for login, sid in sessions for node in nodes if node.session_info(sid)["username"] == login
    )
    for login, sid in sessions:
        assert json.loads(redis_client.get(session_key(sid)))["login"] == login
    figure(
        "load: %d clients, %.0f s, 2 prefork nodes: %d requests, %d errors, p50 %.1f ms, "
        "p99 %.1f ms, %d/%d sessions intact on both nodes"
        % (
            CLIENTS,
            SECONDS,
            len(latencies),
            len(failures),
            percentile(latencies, 0.5) * 1000,
            percentile(latencies, 0.99) * 1000,
            intact,
            2 * CLIENTS,
        )
    )
    assert failures == []
    assert intact == 2 * CLIENTS


def test_simultaneous_requests_never_corrupt_a_session(odoo_nodes, redis_client):
    """Logins and reads racing on one session id over two nodes: the
    session always decodes, and the last write wins."""
    a, b = odoo_nodes("a"), odoo_nodes("b")
    sid = a.login()
    errors = []

    def hammer(node, number):
        for _ in range(15):
            if number % 3 == 0:
                response = node.json(
                    "/web/session/authenticate",
                    {"db": node.database, "login": "admin", "password": "admin"},
                    session_id=sid,
                )
            else:
                response = node.json("/web/session/get_session_info", session_id=sid)
            if response.status_code != 200 or "result" not in response.json():
                errors.append(response.text[:200])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: hammer((a, b)[n % 2], n), range(8)))
    stored = json.loads(redis_client.get(session_key(sid)))
    assert errors == []
    assert stored["login"] == "admin" and stored["uid"]
    assert b.session_info(sid)["username"] == "admin"
