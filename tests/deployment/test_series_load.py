"""Odoo 18 under load, as sites run it: nginx without stickiness over two
prefork nodes, ``/websocket`` to their gevent processes, ``--proxy-mode``.

Employees each hold the web client's websocket and receive the bus messages
a channel gets twice a second while they call the server; other users log
in, open their socket and log out again, and each logout must end the
session on both nodes and close its socket; anonymous shoppers browse the
shop with a product in the cart (whose count 18 keeps in the session).
Then, with nobody calling the server, bus messages alone: what each
delivery costs in Redis commands. ``LOAD_SECONDS`` and ``LOAD_CLIENTS`` set
the size, as for Odoo 11."""

import concurrent.futures
import json
import os
import random
import socket
import threading
import time

import requests

from session_redis.core.layout import session_key
from tests.support.lb import Balancer
from tests.support.load import Record, create_users, jsonrpc, percentile, shopper, warm_up
from tests.support.probing import command_calls, commands_since
from tests.support.series_apps import PRODUCTS
from tests.support.servers import NodeFactory, wait_until
from tests.support.websocket import SESSION_EXPIRED, TICK, BusClosed, BusSocket, Ticker

SERIES = "18.0"
SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "20"))
CHURNERS = 2  # of the clients: users who log in and out again and again


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


def employee(site, database, login, deadline, ticker, record):
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


def test_employees_on_websockets_logins_and_shoppers_on_the_18_layout(
    series_apps_database, redis_server, tmp_path, figure
):
    database = series_apps_database(SERIES)
    factory = NodeFactory(database, redis_server, str(tmp_path), workers=2, series=SERIES)
    balancer = None
    try:
        nodes = [factory(name, extra_args=["--proxy-mode"]) for name in ("a", "b")]
        balancer = Balancer.over(str(tmp_path / "nginx"), nodes).start()
        employees = CLIENTS // 2
        shoppers = CLIENTS - employees - CHURNERS
        logins = create_users(nodes[0], nodes[0].login(), employees + CHURNERS)
        product = PRODUCTS[0]
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
                    pool.submit(employee, balancer.url, database.name, login, deadline, ticker, record)
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
