"""RPC clients through nginx balancing at random over two Odoo nodes.

Stateless clients (XML-RPC, ``/jsonrpc``: credentials on every call) need no
shared session. Clients that log in once and keep the session cookie (a
``requests.Session``; OdooRPC's ``json()`` and ``http()`` on web routes) need
this addon: with files, the node that did not see the login refuses them.
"""

import base64
import json
import xmlrpc.client

import pytest
import requests

from tests.support.lb import Balancer

CALLS = 50
COUNT = {"model": "res.users", "method": "search_count", "args": [[]], "kwargs": {}}


@pytest.fixture
def balanced(odoo_nodes, tmp_path):
    """``make(redis)``: two nodes behind nginx; stopped at the end."""
    balancers = []

    def make(redis=True):
        nodes = [odoo_nodes(name, redis=redis) for name in ("a", "b")]
        balancer = Balancer(str(tmp_path / "nginx"), [node.port for node in nodes]).start()
        balancers.append(balancer)
        return balancer, nodes[0].database

    yield make
    for balancer in balancers:
        balancer.stop()


def both_nodes_answered(balancer, since):
    counts = balancer.requests_per_node(since)
    return len(counts) == 2 and min(counts.values()) > 0


def test_stateless_xmlrpc_and_jsonrpc_work_unchanged(balanced):
    balancer, db = balanced()
    uid = xmlrpc.client.ServerProxy(balancer.url + "/xmlrpc/2/common").authenticate(db, "admin", "admin", {})
    models = xmlrpc.client.ServerProxy(balancer.url + "/xmlrpc/2/object")
    counts = [models.execute_kw(db, uid, "admin", "res.users", "search_count", [[]]) for _ in range(20)]
    payload = {
        "service": "object",
        "method": "execute",
        "args": [db, uid, "admin", "res.users", "search_count", []],
    }
    answers = [
        requests.post(
            balancer.url + "/jsonrpc", json={"jsonrpc": "2.0", "params": payload}, timeout=30
        ).json()
        for _ in range(20)
    ]
    assert uid and set(counts) == {counts[0]} and counts[0] >= 1
    assert [answer.get("result") for answer in answers] == [counts[0]] * 20
    assert both_nodes_answered(balancer, 0)


def requests_session_calls(balancer, db):
    """Log in once with a requests.Session; outcomes of 50 web calls."""
    http = requests.Session()
    login = http.post(
        balancer.url + "/web/session/authenticate",
        json={"params": {"db": db, "login": "admin", "password": "admin"}},
        timeout=30,
    )
    assert login.json()["result"]["uid"]
    since = len(balancer.access_lines())
    outcomes = []
    for _ in range(CALLS):
        body = http.post(balancer.url + "/web/dataset/call_kw", json={"params": COUNT}, timeout=30).json()
        outcomes.append("ok" if "result" in body else body["error"]["data"]["name"])
    return outcomes, since


def odoorpc_calls(balancer, db):
    """OdooRPC: ``login()`` is stateless on Odoo >= 10 (``/jsonrpc``); its
    low-level ``json()`` opens a web session once, kept in the client's
    cookie jar for ``json()`` and ``http()``: call_kw, and downloads of an
    attachment from /web/content."""
    odoorpc = pytest.importorskip("odoorpc")
    odoo = odoorpc.ODOO("127.0.0.1", port=balancer.port, timeout=30)
    odoo.login(db, "admin", "admin")
    odoo.json("/web/session/authenticate", {"db": db, "login": "admin", "password": "admin"})
    since = len(balancer.access_lines())
    outcomes = []
    for _ in range(CALLS // 2):
        try:
            outcomes.append("ok" if odoo.json("/web/dataset/call_kw", COUNT)["result"] >= 1 else "wrong")
        except odoorpc.error.RPCError as error:
            outcomes.append(str(error))
    content = b"report of the day"
    attachment = odoo.env["ir.attachment"].create(
        {"name": "day.txt", "datas": base64.b64encode(content).decode()}
    )
    for _ in range(CALLS // 2):
        try:
            downloaded = odoo.http("web/content/%d?download=true" % attachment).read()
            outcomes.append("ok" if downloaded == content else "not the file")
        except Exception as error:  # urllib's HTTPError for a refused download
            outcomes.append(repr(error))
    return outcomes, since


@pytest.mark.parametrize("client", [requests_session_calls, odoorpc_calls], ids=["requests", "odoorpc"])
def test_clients_keeping_a_web_session_log_in_once(balanced, client):
    balancer, db = balanced()
    outcomes, since = client(balancer, db)
    assert outcomes == ["ok"] * CALLS
    assert both_nodes_answered(balancer, since)
    logins = [line for line in balancer.access_lines() if "/web/session/authenticate" in line[3]]
    assert len(logins) == 1


@pytest.mark.parametrize("client", [requests_session_calls, odoorpc_calls], ids=["requests", "odoorpc"])
def test_with_the_addon_off_they_fail_on_the_other_node(balanced, client):
    balancer, db = balanced(redis=False)
    outcomes, _since = client(balancer, db)
    assert "ok" in outcomes and any(outcome != "ok" for outcome in outcomes), json.dumps(outcomes)
