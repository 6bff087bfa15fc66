"""A session ended while one of its requests is in flight stays ended.

The request's headers reach node A, which loads the session; its body is
held back; the user logs out on node B; then the body is sent and A
finishes the request, saving the session it loaded (it changed it: an
action saved on Odoo 11, the device recorded on 18). A store that simply
writes would bring the session back, logged in. On Odoo 11 and 18.
"""

import json
import socket

import pytest

from session_redis.core.layout import session_key


@pytest.fixture(params=["11.0", "18.0"])
def nodes(request, odoo_nodes, series_nodes):
    return odoo_nodes if request.param == "11.0" else series_nodes(request.param)


def held_request(node, path, sid, params):
    """Send a JSON-RPC request's headers now; return a function that sends
    its body and returns the response's status line."""
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}).encode()
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
        return answer.split(b"\r\n", 1)[0].decode()

    return finish


def test_a_request_in_flight_does_not_bring_back_a_logged_out_session(nodes, redis_client):
    a, b = nodes("a"), nodes("b")
    sid = a.login()
    if a.series == "11.0":  # a route that changes the session
        finish = held_request(a, "/web/session/save_session_action", sid, {"the_action": {"type": "x"}})
    else:  # the first request after a login records the device in the session
        finish = held_request(a, "/web/session/get_session_info", sid, {})
    assert b.json("/web/session/destroy", session_id=sid).status_code == 200
    assert redis_client.exists(session_key(sid)) == 0
    status = finish()  # the in-flight request completes on node A and saves
    assert " 200 " in status + " ", status
    assert redis_client.exists(session_key(sid)) == 0, "the logged-out session came back"
    assert a.session_info(sid) is None and b.session_info(sid) is None
