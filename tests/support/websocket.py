"""A minimal websocket client for Odoo's bus (``/websocket``, Odoo 16+),
on wsproto (a sans-IO library already installed with selenium): enough to
open the socket with a session cookie, send bus events and receive the
notifications Odoo pushes; and numbered bus messages to receive."""

import json
import socket
import time
from contextlib import closing
from urllib.parse import urlparse

import psycopg2
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, Request, TextMessage

SESSION_EXPIRED = 4001  # Odoo's close code for a socket whose session ended
TICK = "session_redis/tick"  # the type of Ticker's messages


class BusClosed(ConnectionError):
    """The server closed the socket; ``code`` says why (Odoo's 4001: the
    session expired or ended)."""

    def __init__(self, code, reason=""):
        super().__init__("websocket closed: %s %s" % (code, reason))
        self.code = code


class BusSocket(object):
    """A websocket to ``url`` + ``/websocket`` with cookie ``session_id``;
    as a browser's, with its ``user_agent`` (which Odoo 18's device log
    reads) and the web client's ``version`` of the socket (Odoo closes a
    browser's socket of another version)."""

    def __init__(self, url, session_id, timeout=30, user_agent=None, version=None):
        parsed = urlparse(url)
        self.connection = WSConnection(ConnectionType.CLIENT)
        self.socket = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        request = Request(
            host=parsed.netloc,
            target="/websocket" + ("?version=" + version if version else ""),
            # Odoo refuses (or downgrades to a public session) a socket from another origin
            extra_headers=[(b"origin", url.encode()), (b"cookie", b"session_id=" + session_id.encode())]
            + ([(b"user-agent", user_agent.encode())] if user_agent else []),
        )
        self.socket.sendall(self.connection.send(request))
        event = self._next_event()
        if not isinstance(event, AcceptConnection):
            raise ConnectionError("websocket refused: %r" % (event,))

    def _next_event(self):
        while True:
            for event in self.connection.events():
                return event
            data = self.socket.recv(65536)
            if not data:
                return RejectConnection()
            self.connection.receive_data(data)

    def send(self, event_name, data):
        message = json.dumps({"event_name": event_name, "data": data})
        self.socket.sendall(self.connection.send(TextMessage(data=message)))

    def receive(self, timeout):
        """The next notifications Odoo pushes (a list of ``{"id", "message"}``),
        answering its pings meanwhile; raises :class:`BusClosed` when the
        server closes the socket, ``socket.timeout`` after ``timeout`` s."""
        self.socket.settimeout(timeout)
        text = ""
        while True:
            event = self._next_event()
            if isinstance(event, Ping):
                self.socket.sendall(self.connection.send(event.response()))
            elif isinstance(event, TextMessage):
                text += event.data
                if event.message_finished:
                    return json.loads(text)
            elif isinstance(event, CloseConnection):
                raise BusClosed(event.code, event.reason or "")
            elif isinstance(event, RejectConnection):
                raise BusClosed(None, "connection lost")

    def close(self):
        self.socket.close()


class Ticker(object):
    """Sends numbered bus messages ("ticks") to a channel of its own the way
    ``bus.bus._sendone`` does: a row in ``bus_bus``, then ``NOTIFY imbus`` on
    the ``postgres`` database, where each Odoo process that serves
    websockets listens. Each tick carries its number and when it was sent."""

    def __init__(self, database, channel="session_redis_ticks"):
        self.database = database
        self.channel = channel
        self.sent = 0

    def last_id(self):
        with closing(psycopg2.connect(dbname=self.database)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM bus_bus")
            return cursor.fetchone()[0]

    def subscribe(self, bus):
        """Subscribe ``bus`` (a :class:`BusSocket`) to the ticks sent from now on."""
        bus.send("subscribe", {"channels": [self.channel], "last": self.last_id()})

    def send(self):
        self.sent += 1
        channel = [self.database, self.channel]
        message = {"type": TICK, "payload": {"number": self.sent, "sent": time.time()}}
        with closing(psycopg2.connect(dbname=self.database)) as connection:
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bus_bus (channel, message, create_date, write_date)"
                    " VALUES (%s, %s, now() at time zone 'utc', now() at time zone 'utc')",
                    (json.dumps(channel, separators=(",", ":")), json.dumps(message, separators=(",", ":"))),
                )
        with closing(psycopg2.connect(dbname="postgres")) as connection:
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify('imbus', %s)", (json.dumps([channel]),))

    def run(self, stop, every):
        """Send a tick every ``every`` seconds until ``stop`` is set."""
        while not stop.wait(every):
            self.send()


def next_tick(bus, timeout):
    """The number of the next tick ``bus`` receives, other notifications
    passed over; raises :class:`BusClosed` if the server closes it first."""
    deadline = time.monotonic() + timeout
    while True:
        for notification in bus.receive(max(0.1, deadline - time.monotonic())):
            if notification["message"]["type"] == TICK:
                return notification["message"]["payload"]["number"]
