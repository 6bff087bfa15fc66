"""A web client in a test: its own cookie jar and User-Agent, calling
Odoo's JSON routes the way the web client does, on Odoo 16 to 19; and a
request held in flight (headers sent, body not yet) for the tests of
sessions that end while one of their requests runs."""

import json
import socket

import requests

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0"
SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5"
EXPIRED = "odoo.http.SessionExpiredException"


class Browser(object):
    """One web client: its own cookie jar and User-Agent, calling Odoo's
    JSON routes as the web client does. Its cookie goes to every node (they
    share the host), as behind a load balancer."""

    def __init__(self, user_agent):
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent
        self.sid = None

    def call(self, node, path, params=None):
        """The JSON-RPC body Odoo answers."""
        response = self.http.post(
            node.url + path, json={"jsonrpc": "2.0", "method": "call", "params": params or {}}, timeout=60
        )
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def result(self, node, path, params=None):
        body = self.call(node, path, params)
        assert "error" not in body, (path, body["error"])
        return body["result"]

    def login(self, node):
        result = self.result(
            node, "/web/session/authenticate", {"db": node.database, "login": "admin", "password": "admin"}
        )
        assert result["uid"] == 2, result
        self.sid = self.http.cookies["session_id"]
        return self

    def logged_in(self, node, sid=None):
        """Does ``node`` take this browser's session (or the cookie ``sid``)?
        An ``auth="user"`` route: on Odoo 18, the one that records the device."""
        cookies = {"session_id": sid} if sid else None
        response = self.http.post(
            node.url + "/web/session/get_session_info",
            json={"jsonrpc": "2.0", "method": "call", "params": {}},
            cookies=cookies,
            timeout=60,
        )
        body = response.json()
        if "error" in body:
            assert body["error"]["data"]["name"] == EXPIRED, body
            return False
        return body["result"]["uid"] == 2

    def call_kw(self, node, model, method, args, kwargs=None):
        params = {"model": model, "method": method, "args": args, "kwargs": kwargs or {}}
        return self.result(node, "/web/dataset/call_kw/%s/%s" % (model, method), params)

    def button(self, node, model, method, ids, context=None):
        """A ``type="object"`` button, as the web client calls it."""
        kwargs = {"context": context} if context else {}
        params = {"model": model, "method": method, "args": [ids], "kwargs": kwargs}
        return self.result(node, "/web/dataset/call_button/%s/%s" % (model, method), params)

    def confirmed_button(self, node, model, method, ids, password="admin"):
        """A button behind ``@check_identity``: Odoo answers with its
        password wizard; the user types the password into the wizard's form
        (saved with ``web_save``) and presses "Confirm Password", which runs
        the button's method (Odoo 19 reads the password from the context the
        wizard's button sends, 18 from the saved form: both are sent).
        Returns what that method returned."""
        action = self.button(node, model, method, ids)
        assert action["res_model"] == "res.users.identitycheck", action
        wizard = action["res_id"]
        typed = [[wizard], {"password": password}]
        self.call_kw(node, "res.users.identitycheck", "web_save", typed, {"specification": {}})
        return self.button(node, "res.users.identitycheck", "run_check", [wizard], {"password": password})


def devices(browser, node, identifiers):
    """``{identifier: res.device id}`` of the devices Odoo lists for them."""
    rows = browser.call_kw(
        node,
        "res.device",
        "search_read",
        [[["session_identifier", "in", sorted(identifiers)]]],
        {"fields": ["session_identifier", "browser"]},
    )
    found = {row["session_identifier"]: row["id"] for row in rows}
    assert len(found) == len(rows), rows
    return found


def held_request(node, path, sid, params=None):
    """Send the headers of a JSON-RPC request with cookie ``sid`` to
    ``node`` now (Odoo loads the session then); return a function that
    sends its body and returns ``(status line, session id of the cookie
    Odoo set or None)``."""
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params or {}}).encode()
    connection = socket.create_connection(("127.0.0.1", node.port), timeout=60)
    connection.sendall(
        (
            "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            "Cookie: session_id=%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (path, node.port, sid, len(body))
        ).encode()
    )

    def finish():
        connection.sendall(body)
        answer = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
        connection.close()
        head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        cookie = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie" and value.strip().startswith("session_id="):
                cookie = value.strip()[len("session_id=") :].split(";", 1)[0]
        return head[0], cookie

    return finish


def info(node, sid):
    """``(uid or None, the cookie Odoo sets back)`` for a request with ``sid``."""
    response = requests.post(
        node.url + "/web/session/get_session_info",
        json={"jsonrpc": "2.0", "method": "call", "params": {}},
        cookies={"session_id": sid},
        timeout=60,
    )
    body = response.json()
    if "error" in body:
        assert body["error"]["data"]["name"] == EXPIRED, body
        return None, response.cookies.get("session_id")
    return body["result"]["uid"], response.cookies.get("session_id")


def planted_session(node):
    """An anonymous session id handed out and stored by Odoo, as an attacker
    gets one. A session holding only Odoo's defaults is not stored: a failed
    login leaves the login it tried in this one."""
    sid = requests.get(node.url + "/web/login", timeout=30).cookies["session_id"]
    failed = node.json(
        "/web/session/authenticate",
        {"db": node.database, "login": "admin", "password": "wrong"},
        session_id=sid,
    )
    assert not failed.json()["result"]["uid"]
    return sid


def authenticate_with(node, sid):
    """Log in with ``sid``; return the id of the cookie Odoo sends back."""
    response = node.json(
        "/web/session/authenticate",
        {"db": node.database, "login": "admin", "password": "admin"},
        session_id=sid,
    )
    result = response.json()["result"]
    cookie = response.cookies.get("session_id", sid)
    assert result["uid"] and result["session_id"] == cookie
    return cookie


def call_kw(http, url, path="/web/dataset/call_kw", sid=None):
    """An ``auth="user"`` JSON-RPC call through ``http`` (``requests`` or a
    ``requests.Session``, whose cookies then count), with the cookie of
    ``sid`` if given: "ok", "expired" or the error's name."""
    params = {"model": "res.users", "method": "search_count", "args": [[]], "kwargs": {}}
    cookies = {"session_id": sid} if sid else None
    body = http.post(
        url + path, json={"jsonrpc": "2.0", "method": "call", "params": params}, cookies=cookies, timeout=30
    ).json()
    if "error" not in body:
        return "ok"
    name = body["error"]["data"]["name"]
    return "expired" if name == EXPIRED else name
