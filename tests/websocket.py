"""A minimal websocket client for Odoo's bus (``/websocket``, Odoo 16+),
on wsproto (a sans-IO library already installed with selenium): enough to
open the socket with a session cookie and send bus events."""

import json
import socket
from urllib.parse import urlparse

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, Request, TextMessage


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

    def close(self):
        self.socket.close()
