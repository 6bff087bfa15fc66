"""A user's sessions across real Odoo 11 nodes: the index registers each
login with the address and browser it came from, and a new password (or an
archived user) ends the user's other sessions in Redis at once."""

import requests
from odoo.http import OpenERPSession

from session_redis.core.layout import session_key
from session_redis.core.store import LOGIN_INFO, RedisSessionStore


def call(node, sid, model, method, args, kwargs=None):
    response = node.json(
        "/web/dataset/call_kw",
        {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        session_id=sid,
    ).json()
    assert "error" not in response, response
    return response["result"]


def log_in(
    node, login, password, browser="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
):
    response = requests.post(
        node.url + "/web/session/authenticate",
        json={"jsonrpc": "2.0", "params": {"db": node.database, "login": login, "password": password}},
        headers={"User-Agent": browser},
        timeout=30,
    )
    assert response.json()["result"]["uid"], response.text
    return response.cookies["session_id"]


def new_user(node, admin, login):
    return call(
        node, admin, "res.users", "create", [{"name": login.title(), "login": login, "password": login}]
    )


def test_each_login_is_indexed_with_its_address_and_browser(odoo_nodes, redis_client):
    a, b = odoo_nodes("a"), odoo_nodes("b")
    admin = a.login()
    uid = new_user(a, admin, "ann")
    on_a = log_in(a, "ann", "ann")
    on_b = log_in(
        b,
        "ann",
        "ann",
        browser="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/119.0 Safari/537.36",
    )
    store = RedisSessionStore(redis_client, OpenERPSession)
    listed = {session.entry: session.login_info for session in store.user_sessions(a.database, uid)}
    assert listed == {
        on_a: {"ip": "127.0.0.1", "browser": "firefox 120.0 on linux"},
        on_b: {"ip": "127.0.0.1", "browser": "chrome 119.0 on linux"},
    }
    assert store.get(on_a)[LOGIN_INFO]["browser"] == "firefox 120.0 on linux"


def test_a_new_password_ends_the_users_other_sessions_at_once(odoo_nodes, redis_client):
    a, b = odoo_nodes("a"), odoo_nodes("b")
    admin = a.login()
    uid = new_user(a, admin, "bob")
    changing, *others = [log_in(node, "bob", "bob") for node in (a, b, b)]
    store = RedisSessionStore(redis_client, OpenERPSession)

    result = b.json(
        "/web/session/change_password",
        {
            "fields": [
                {"name": "old_pwd", "value": "bob"},
                {"name": "new_password", "value": "bob2"},
                {"name": "confirm_pwd", "value": "bob2"},
            ]
        },
        session_id=changing,
    ).json()
    assert result["result"] == {"new_password": "bob2"}, result
    assert [session.entry for session in store.user_sessions(a.database, uid)] == [changing]
    assert all(store.get(sid).new for sid in others)
    assert a.session_info(admin)["username"] == "admin"

    again = [log_in(b, "bob", "bob2") for _ in range(2)]
    call(a, admin, "res.users", "write", [[uid], {"password": "bob3"}])  # an admin resets it
    assert store.user_sessions(a.database, uid) == []
    assert all(node.session_info(sid) is None for node in (a, b) for sid in again + [changing])

    archived = log_in(a, "bob", "bob3")
    call(b, admin, "res.users", "write", [[uid], {"active": False}])
    assert store.get(archived).new and a.session_info(admin)["username"] == "admin"


def test_archiving_with_any_false_value_ends_the_users_sessions(odoo_nodes, redis_client):
    """An RPC client may archive with 0 or "" rather than False: Odoo
    archives the user all the same, and the sessions must end too."""
    node = odoo_nodes()
    admin = node.login()
    store = RedisSessionStore(redis_client, OpenERPSession)
    for number, false in enumerate([False, 0, ""]):
        login = "archived%d" % number
        uid = new_user(node, admin, login)
        sid = log_in(node, login, login)
        assert [session.entry for session in store.user_sessions(node.database, uid)] == [sid]
        call(node, admin, "res.users", "write", [[uid], {"active": false}])
        assert store.user_sessions(node.database, uid) == [], false
        assert redis_client.exists(session_key(sid)) == 0, false
