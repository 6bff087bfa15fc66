"""Hostile session ids and stored values: never a 5xx, never a Redis command
built from an id that failed validation, never a crashed worker."""

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from odoo.http import OpenERPSession

from session_redis.core.store import RedisSessionStore

VALID = "0123456789abcdef" * 2 + "01234567"

ID_CORPUS = [
    "",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "*",
    "?" * 40,
    "[a-f]" * 8,
    "session:*",
    VALID + "\r\nSET x y",
    VALID + "\n",
    "\x00" + VALID[1:],
    VALID[:-1] + "\x00",
    "a" * 10240,
    "é" * 40,
    "日本" * 20,
    VALID.upper(),
    " " + VALID,
    VALID + " ",
    "0x" + VALID[2:],
    VALID + VALID,
]


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.text(),
        st.binary(),
        st.none(),
        st.integers(),
        st.text(alphabet="0123456789abcdefABCDEF*?[]\\\r\n\x00/.", min_size=38, max_size=42),
    )
)
def test_fuzzed_ids_never_reach_redis(redis_server, sid):
    client = redis_server.client()
    store = RedisSessionStore(client, OpenERPSession)
    client.config_resetstat()
    session = store.get(sid)
    assert session.new and store.is_valid_key(session.sid)
    if sid != session.sid:
        assert "cmdstat_get" not in client.info("commandstats") or store.is_valid_key(sid)


@pytest.fixture(scope="module")
def shared_node(odoo_database, redis_server, tmp_path_factory):
    from tests.support.servers import OdooNode

    node = OdooNode(
        odoo_database.name,
        str(tmp_path_factory.mktemp("hostile")),
        {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_server.url},
        filestore=odoo_database.filestore,
    ).start()
    yield node
    node.stop()


def get_calls(client):
    stats = client.info("commandstats")
    return stats.get("cmdstat_get", {}).get("calls", 0)


@pytest.mark.parametrize("sid", ID_CORPUS, ids=range(len(ID_CORPUS)))
def test_hostile_ids_over_http(shared_node, redis_server, sid):
    client = redis_server.client()
    client.config_resetstat()
    response = requests.get(shared_node.url + "/web/login", params={"session_id": sid}, timeout=30)
    assert response.status_code < 500
    body = {"jsonrpc": "2.0", "method": "call", "params": {}}
    response = requests.post(
        shared_node.url + "/web/session/get_session_info", params={"session_id": sid}, json=body, timeout=30
    )
    assert response.status_code < 500
    assert get_calls(client) == 0, "a Redis GET for an invalid id"


HUGE = 50 * 1024 * 1024

STORED_CORPUS = {
    "random bytes": bytes(range(256)) * 4,
    "json list": b"[1, 2, 3]",
    "json string": b'"uid"',
    "nesting 10000": b'{"a": ' + b"[" * 10000 + b"]" * 10000 + b"}",
    "nesting objects": b'{"a": ' + b'{"a": ' * 10000 + b"1" + b"}" * 10000 + b"}",
    "forged tag": b'{"uid": {"__type__": "pickle", "value": "gASVAAAAAAAAAAA="}}',
    "forged legacy tag": b'{"uid": {"_type": "datetime_isoformat", "value": "never"}}',
    "bad metadata": b'{"uid": 2, "_session_redis": "soon"}',
    "50 MB string": b'{"a": "' + b"x" * HUGE + b'"}',
}


@pytest.mark.parametrize("name", sorted(STORED_CORPUS))
def test_broken_stored_values_give_a_fresh_session(shared_node, redis_server, name):
    client = redis_server.client()
    sid = VALID
    client.set("session:" + sid, STORED_CORPUS[name], ex=60)
    response = shared_node.json("/web/session/get_session_info", session_id=sid)
    assert response.status_code == 200
    body = response.json()
    assert "error" in body and body["error"]["data"]["name"] == "odoo.http.SessionExpiredException"
    assert shared_node.process.poll() is None
    # the fresh session got a new id; the broken value is left to expire
    assert response.cookies.get("session_id") != sid
    client.delete("session:" + sid)
