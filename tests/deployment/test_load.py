"""The production layout under load, as sites run it: nginx without
stickiness over two prefork nodes, ``--proxy-mode``. On Odoo 11 employees
hold a bus poll open (``/longpolling/`` to the longpolling processes); on
Odoo 18 they hold the web client's websocket (``/websocket`` to the gevent
processes) while other users log in and out again, and each logout must end
the session on both nodes and close its socket. Anonymous shoppers fill a
cart and browse the shop. Then, on 18, bus messages alone: what each
delivery costs in Redis commands; on 11, concurrent requests on one
session. ``LOAD_SECONDS`` and ``LOAD_CLIENTS`` set the size (``make load``
runs the long version)."""

import concurrent.futures
import json
import os
import random
import socket
import threading
import time

import psycopg2
import pytest
import requests

from session_redis.core.layout import session_key
from tests.support import apps, series_apps
from tests.support.lb import Balancer, lessc_bin_dir, path_with_lessc
from tests.support.load import Record, create_users, jsonrpc, percentile, shopper, warm_up
from tests.support.probing import command_calls, commands_since
from tests.support.servers import NodeFactory, wait_until
from tests.support.websocket import SESSION_EXPIRED, TICK, BusClosed, BusSocket, Ticker

SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "20"))
CHURNERS = 2  # on 18, of the clients: users who log in and out again and again


# --- Odoo 11: bus polls through /longpolling/ ---

POLL_CHANNEL = "load_tick"  # a bus channel that gets a message every second


def polling_employee(site, database, login, deadline, record):
    """Logs in, then polls the bus (held open until the next tick) and asks
    who it is between polls, as the web client does."""
    http = requests.Session()
    body = jsonrpc(
        http, site + "/web/session/authenticate", {"db": database, "login": login, "password": login}
    )
    sid = body.cookies["session_id"]
    last = 0
    while time.monotonic() < deadline:
        params = {"channels": [POLL_CHANNEL], "last": last, "options": {"bus_inactivity": 0}}
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
    """A message on POLL_CHANNEL every second: what ends each poll."""
    number = 0
    while not stop.wait(1):
        number += 1
        node.json("/longpolling/send", {"channel": POLL_CHANNEL, "message": number})


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
            (apps.PRODUCTS[0],),
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
                pool.submit(polling_employee, balancer.url, nodes[0].database, login, deadline, record)
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


# --- Odoo 18: the web client's websocket through /websocket ---


def open_socket(site, sid, ticker):
    """A websocket through the balancer, subscribed to the ticks from now on."""
    bus = BusSocket(site, sid)
    ticker.subscribe(bus)
    return bus


class Listener(object):
    """Reads one socket in a thread of its own: the ticks it gets, how long
    each took from the ticker, and how the socket ended."""

    def __init__(self, name, bus, record):
        self.name = name
        self.bus = bus
        self.record = record
        self.numbers = []
        self.closed = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.listen, daemon=True)
        self.thread.start()

    def listen(self):
        try:
            while not self.done.is_set():
                try:
                    notifications = self.bus.receive(timeout=1)
                except socket.timeout:
                    continue
                now = time.time()
                for notification in notifications:
                    message = notification["message"]
                    if message["type"] == TICK:
                        self.numbers.append(message["payload"]["number"])
                        self.record.took("bus", now - message["payload"]["sent"])
        except BusClosed as closed:
            self.closed = closed.code
        except OSError as error:
            self.closed = error

    def stop(self):
        self.done.set()
        self.thread.join(10)
        self.bus.close()

    def gaps(self):
        """Tick numbers missing between the first and the last it got."""
        got = set(self.numbers)
        return sorted(set(range(min(got), max(got) + 1)) - got) if got else []


def logged_in(http, site, database, login):
    body = jsonrpc(
        http, site + "/web/session/authenticate", {"db": database, "login": login, "password": login}
    )
    assert body.status_code == 200 and body.json().get("result", {}).get("uid"), body.text[:500]
    return http.cookies["session_id"]


def socket_employee(site, database, login, deadline, ticker, record):
    """Logs in, holds a websocket, and calls the server now and then, as
    the open web client does; each answer must still know who it is."""
    http = requests.Session()
    sid = logged_in(http, site, database, login)
    listener = Listener(login, open_socket(site, sid, ticker), record)
    calls = [
        ("/web/session/get_session_info", {}),
        (
            "/web/dataset/call_kw",
            {"model": "res.partner", "method": "search_count", "args": [[]], "kwargs": {}},
        ),
    ]
    while time.monotonic() < deadline:
        path, params = random.choice(calls)
        answer = record.timed("http", jsonrpc, http, site + path, params)
        if answer.status_code != 200 or "result" not in answer.json():
            record.fail("%s: %s answered %s" % (login, path, answer.text[:200]))
        elif path.endswith("get_session_info") and answer.json()["result"]["username"] != login:
            record.fail("%s: logged out or another session" % login)
        time.sleep(random.uniform(0.1, 0.5))  # a person's pace, not a condition awaited
    return login, sid, listener


def churner(site, nodes, database, login, deadline, ticker, record):
    """Logs in, opens a websocket, logs out, again and again: each logout
    must end the session on every node and close its socket (Odoo's
    4001) at the next bus message. Returns how many logouts it checked."""
    logouts = 0
    while time.monotonic() < deadline:
        http = requests.Session()
        sid = logged_in(http, site, database, login)
        listener = Listener(login, open_socket(site, sid, ticker), record)
        record.timed("http", http.get, site + "/web/session/logout", timeout=30)
        still = [node.url for node in nodes if node.session_info(sid) is not None]
        if still:
            record.fail("%s: logged out, but its session still answers on %s" % (login, still))
        listener.thread.join(15)  # the next tick (every 0.5 s) closes it
        if listener.closed != SESSION_EXPIRED:
            record.fail("%s: its socket after the logout: %s" % (login, listener.closed or "still open"))
        listener.stop()
        logouts += 1
    return logouts


@pytest.mark.parametrize("series", ["18.0"])
def test_employees_on_websockets_logins_and_shoppers_on_the_production_layout(
    series, series_apps_database, redis_server, tmp_path, figure
):
    database = series_apps_database(series)
    factory = NodeFactory(database, redis_server, str(tmp_path), workers=2, series=series)
    balancer = None
    try:
        nodes = [factory(name, extra_args=["--proxy-mode"]) for name in ("a", "b")]
        balancer = Balancer.over(str(tmp_path / "nginx"), nodes).start()
        employees = CLIENTS // 2
        shoppers = CLIENTS - employees - CHURNERS
        logins = create_users(nodes[0], nodes[0].login(), employees + CHURNERS)
        product = series_apps.PRODUCTS[0]
        product_page = "/shop/%d" % database.products[product]
        warm_up(nodes, product_page)
        ticker = Ticker(database.name)
        record = Record("http", "bus")
        stop = threading.Event()
        ticking = threading.Thread(target=ticker.run, args=(stop, 0.5), daemon=True)
        ticking.start()
        deadline = time.monotonic() + SECONDS
        try:
            with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
                staff = [
                    pool.submit(socket_employee, balancer.url, database.name, login, deadline, ticker, record)
                    for login in logins[:employees]
                ]
                churn = [
                    pool.submit(churner, balancer.url, nodes, database.name, login, deadline, ticker, record)
                    for login in logins[employees:]
                ]
                shop = [
                    pool.submit(
                        shopper, balancer.url, database.variants[product], product_page, deadline, record
                    )
                    for _ in range(shoppers)
                ]
                sessions = [future.result() for future in staff]
                logouts = sum(future.result() for future in churn)
                for future in shop:
                    future.result()
        finally:
            stop.set()
            ticking.join()
        listeners = [listener for _login, _sid, listener in sessions]

        # Bus messages alone: nobody calls the server now.
        redis = redis_server.client()
        before, quiet = command_calls(redis), 10
        for _ in range(quiet):  # one at a time: each is one delivery to each socket
            ticker.send()
            wait_until(
                lambda: all(
                    listener.numbers and listener.numbers[-1] == ticker.sent for listener in listeners
                ),
                30,
                "every socket to get bus message %d" % ticker.sent,
            )
        per_command = commands_since(redis, before)
        for listener in listeners:
            listener.stop()

        intact = sum(
            1
            for login, sid, _listener in sessions
            for node in nodes
            if (node.session_info(sid) or {}).get("username") == login
        )
        stored = sum(
            1
            for login, sid, _listener in sessions
            if json.loads(redis.get(session_key(sid)))["login"] == login
        )
        http, bus = record.latencies["http"], record.latencies["bus"]
        deliveries = quiet * employees
        figure(
            "load, Odoo 18 layout (nginx, 2 prefork nodes with their websocket process), %.0f s: "
            "%d employees on websockets, %d users logging in and out (%d logouts, each socket closed), "
            "%d anonymous shoppers with a cart; "
            "HTTP: %d requests, p50 %.1f ms, p99 %.1f ms; bus: %d messages delivered, "
            "p50 %.1f ms, p99 %.1f ms from its insert to the client; "
            "%d failures (logouts, 5xx, lost messages or carts); %d/%d sessions intact on both nodes; "
            "bus messages alone: %.2f Redis commands per delivery (%s)"
            % (
                SECONDS,
                employees,
                CHURNERS,
                logouts,
                shoppers,
                len(http),
                percentile(http, 0.5) * 1000,
                percentile(http, 0.99) * 1000,
                len(bus),
                percentile(bus, 0.5) * 1000,
                percentile(bus, 0.99) * 1000,
                len(record.failures),
                intact,
                2 * employees,
                sum(per_command.values()) / float(deliveries),
                ", ".join("%s %d" % item for item in sorted(per_command.items())),
            )
        )
        assert record.failures == []
        assert logouts >= CHURNERS
        assert intact == 2 * employees and stored == employees
        for listener in listeners:
            assert listener.closed is None, (listener.name, listener.closed)
            assert listener.gaps() == [], (listener.name, listener.gaps())
        # delivering a bus message reads the session (one GET) and writes nothing
        assert set(per_command) == {"get"}, per_command
    finally:
        if balancer:
            balancer.stop()
        factory.stop_all()
