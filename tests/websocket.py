"""A minimal websocket client for Odoo's bus (``/websocket``, Odoo 16+),
on wsproto (a sans-IO library already installed with selenium): enough to
open the socket with a session cookie, send bus events and receive the
notifications Odoo pushes."""

import json
import socket
from urllib.parse import urlparse

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, Request, TextMessage


class BusClosed(ConnectionError):
    """The server closed the socket; ``code`` says why (Odoo's 4001: the
    session expired or ended)."""

    def __init__(self, code, reason=""):
        super().__init__("websocket closed: %s %s" % (code, reason))
        self.code = code


class BusSocket(object):
    """A websocket to ``url`` + ``/websocket`` with cookie ``session_id``."""

    def __init__(self, url, session_id, timeout=30):
        parsed = urlparse(url)
        self.connection = WSConnection(ConnectionType.CLIENT)
        self.socket = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        request = Request(
            host=parsed.netloc,
            target="/websocket",
            # Odoo refuses (or downgrades to a public session) a socket from another origin
            extra_headers=[(b"origin", url.encode()), (b"cookie", b"session_id=" + session_id.encode())],
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
