"""Prefork nodes, as production runs them: Odoo's longpolling process must
start (bin/odoo is a script it can re-run) and read the sessions that
another node's HTTP workers wrote.

The bus answers a poll at once with what is already queued on the polled
channels. A probe on a public channel makes every poll return; a direct message
to the user comes back only when the longpolling process knows whom the
session belongs to (mail adds the user's chat channels to a logged-in
user's poll only).
"""

import pytest
import requests

from tests.support.apps import EMPLOYEE

PROBE = "session_redis_probe"


def call(node, session_id, model, method, *args, **kwargs):
    response = node.json(
        "/web/dataset/call_kw",
        {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        session_id=session_id,
    ).json()
    assert "error" not in response, response
    return response.get("result")


def direct_message(node, session_id, login, text):
    """Send user ``login`` a direct message (a Discuss chat) as the
    session's user."""
    partner = call(node, session_id, "res.users", "search_read", [("login", "=", login)], ["partner_id"])
    channel = call(node, session_id, "mail.channel", "channel_get", [partner[0]["partner_id"][0]])
    call(
        node,
        session_id,
        "mail.channel",
        "message_post",
        [channel["id"]],
        body=text,
        message_type="comment",
        subtype="mail.mt_comment",
    )


def poll(node, session_id, port="longpolling"):
    """One bus poll on the node's longpolling (or HTTP) port: the messages
    it returns."""
    url = node.longpolling_url if port == "longpolling" else node.url
    response = requests.post(
        url + "/longpolling/poll",
        json={"jsonrpc": "2.0", "method": "call", "params": {"channels": [PROBE], "last": 0}},
        cookies={"session_id": session_id},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "result" in body, body
    return [
        message if isinstance(message, str) else message.get("body")
        for message in (notification["message"] for notification in body["result"])
    ]


def probe(node):
    """Queue a message on the public probe channel."""
    response = node.json("/longpolling/send", {"channel": PROBE, "message": "probe"})
    assert "error" not in response.json(), response.text


def test_longpolling_of_node_b_knows_a_user_logged_in_on_node_a(prefork_nodes):
    a, b = prefork_nodes("a"), prefork_nodes("b")
    sid = a.login(EMPLOYEE, EMPLOYEE)
    probe(b)
    direct_message(a, a.login(), EMPLOYEE, "Hello Bob")

    assert {"probe", "<p>Hello Bob</p>"} <= set(poll(b, sid))
    assert b.session_info(sid)["username"] == EMPLOYEE
    # prefork HTTP workers have no bus: the longpolling process is needed
    with pytest.raises(AssertionError, match="bus.Bus unavailable"):
        poll(b, sid, port="http")
    assert "NameError" not in a.log() + b.log()


def test_without_the_addon_node_b_longpolling_does_not_know_the_user(prefork_nodes):
    a, b = prefork_nodes("a", redis=False), prefork_nodes("b", redis=False)
    sid = a.login(EMPLOYEE, EMPLOYEE)
    probe(b)
    direct_message(a, a.login(), EMPLOYEE, "Hello Bob")

    assert poll(b, sid) == ["probe"]
    # on the node that holds the session file, the same poll finds the message
    assert {"probe", "<p>Hello Bob</p>"} <= set(poll(a, sid))
