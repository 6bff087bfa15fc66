"""The production layout under load: nginx without stickiness in front of
two prefork nodes, /longpolling/ to their longpolling processes. Employees
each hold a bus poll open the way the web client does and call the server
between polls; anonymous shoppers fill a cart and browse the shop. Then
concurrent requests on one session. ``LOAD_SECONDS`` and ``LOAD_CLIENTS``
set the size (``make load`` runs the long version)."""

import concurrent.futures
import json
import os
import threading
import time

import psycopg2
import requests

from session_redis.core.layout import session_key
from tests.support.apps import PRODUCTS
from tests.support.lb import Balancer, lessc_bin_dir, path_with_lessc
from tests.support.load import Record, create_users, jsonrpc, percentile, shopper, warm_up

SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "20"))
TICK = "load_tick"  # a bus channel that gets a message every second


def employee(site, database, login, deadline, record):
    """Logs in, then polls the bus (held open until the next tick) and asks
    who it is between polls, as the web client does."""
    http = requests.Session()
    body = jsonrpc(
        http, site + "/web/session/authenticate", {"db": database, "login": login, "password": login}
    )
    sid = body.cookies["session_id"]
    last = 0
    while time.monotonic() < deadline:
        params = {"channels": [TICK], "last": last, "options": {"bus_inactivity": 0}}
        polled = record.timed("longpolling", jsonrpc, http, site + "/longpolling/poll", params)
        result = polled.json().get("result") if polled.status_code == 200 else None
        if result is None:
            record.fail("%s: poll answered %s" % (login, polled.text[:200]))
        else:
            last = max([last] + [notification["id"] for notification in result])
        info = record.timed("http", jsonrpc, http, site + "/web/session/get_session_info", {})
        result = info.json().get("result") if info.status_code == 200 else None
        if not result or result["username"] != login or result["session_id"] != sid:
            record.fail("%s: logged out or wrong session" % login)
    return login, sid


def ticker(node, stop):
    """A message on the TICK channel every second: what ends each poll."""
    number = 0
    while not stop.wait(1):
        number += 1
        node.json("/longpolling/send", {"channel": TICK, "message": number})


def test_concurrent_clients_on_the_production_layout(prefork_nodes, redis_client, tmp_path, figure):
    bin_dir = lessc_bin_dir()
    env = {"PATH": path_with_lessc(bin_dir)} if bin_dir else {}
    nodes = [
        prefork_nodes(name, env=env, extra_args=["--proxy-mode", "--limit-time-real=600"])
        for name in ("a", "b")
    ]
    balancer = Balancer.over(str(tmp_path / "nginx"), nodes).start()
    employees = CLIENTS // 2
    logins = create_users(nodes[0], nodes[0].login(), employees)
    with psycopg2.connect(dbname=nodes[0].database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM product_product p JOIN product_template t ON t.id = p.product_tmpl_id"
            " WHERE t.name = %s",
            (PRODUCTS[0],),
        )
        [(product_id,)] = cursor.fetchall()
    warm_up(nodes, "/shop/product/%d" % product_id)
    record = Record("http", "longpolling")
    stop = threading.Event()
    tick = threading.Thread(target=ticker, args=(nodes[1], stop))
    tick.start()
    deadline = time.monotonic() + SECONDS
    try:
        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            staff = [
                pool.submit(employee, balancer.url, nodes[0].database, login, deadline, record)
                for login in logins
            ]
            shop = [
                pool.submit(
                    shopper, balancer.url, product_id, "/shop/product/%d" % product_id, deadline, record
                )
                for _ in range(CLIENTS - employees)
            ]
            sessions = [future.result() for future in staff]
            for future in shop:
                future.result()
    finally:
        stop.set()
        tick.join()
        balancer.stop()

    intact = sum(
        1 for login, sid in sessions for node in nodes if node.session_info(sid)["username"] == login
    )
    for login, sid in sessions:
        assert json.loads(redis_client.get(session_key(sid)))["login"] == login
    with psycopg2.connect(dbname=nodes[0].database) as connection, connection.cursor() as cursor:
        # the longpolling processes updated the presence of each session's user
        cursor.execute(
            "SELECT u.login FROM bus_presence b JOIN res_users u ON u.id = b.user_id WHERE u.login IN %s",
            (tuple(logins),),
        )
        present = sorted(login for (login,) in cursor.fetchall())
    http, poll = record.latencies["http"], record.latencies["longpolling"]
    figure(
        "load, production layout (nginx, 2 prefork nodes with longpolling), %.0f s: "
        "%d employees holding bus polls, %d anonymous shoppers; "
        "HTTP: %d requests, p50 %.1f ms, p99 %.1f ms; "
        "longpolling: %d polls (held until the next bus message, 1/s), p50 %.1f ms, p99 %.1f ms; "
        "%d failures (logouts, lost carts, 5xx); %d/%d sessions intact on both nodes"
        % (
            SECONDS,
            employees,
            CLIENTS - employees,
            len(http),
            percentile(http, 0.5) * 1000,
            percentile(http, 0.99) * 1000,
            len(poll),
            percentile(poll, 0.5) * 1000,
            percentile(poll, 0.99) * 1000,
            len(record.failures),
            intact,
            2 * employees,
        )
    )
    assert record.failures == []
    assert intact == 2 * employees
    assert present == sorted(logins)


def test_simultaneous_requests_never_corrupt_a_session(odoo_nodes, redis_client):
    """Logins and reads racing on one session id over two nodes: the
    session always decodes, and the last write wins. Rotation on login is
    off here: a login that rotated would move the session to a new id."""
    keep_ids = {"ODOO_SESSION_REDIS_ROTATE_ON_LOGIN": "0"}
    a, b = odoo_nodes("a", env=keep_ids), odoo_nodes("b", env=keep_ids)
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
