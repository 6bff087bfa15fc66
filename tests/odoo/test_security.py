"""Secrets, isolation between sites, logout and session fixation, through
real Odoo 11 nodes."""

import requests

from session_redis.core.layout import session_key
from tests.support.servers import RedisServer
from tests.support.web_client import authenticate_with, planted_session


def test_with_rotation_off_a_planted_id_still_dies_at_login(odoo_nodes, redis_client):
    """The setting only lets a logged-in session keep its id when it
    authenticates again: an id that had no user (planted, and stored by
    the attacker's own failed login) is replaced, whatever the setting."""
    node = odoo_nodes(env={"ODOO_SESSION_REDIS_ROTATE_ON_LOGIN": "false"})
    planted = planted_session(node)
    fresh = authenticate_with(node, planted)
    assert fresh != planted and node.session_info(planted) is None
    assert redis_client.exists(session_key(planted)) == 0
    assert authenticate_with(node, fresh) == fresh  # logged in already: kept
    assert node.session_info(fresh)["username"] == "admin"


def test_by_default_a_login_kills_the_planted_id(odoo_nodes, redis_client):
    node = odoo_nodes()
    planted = planted_session(node)
    fresh = authenticate_with(node, planted)
    assert fresh != planted
    assert node.session_info(planted) is None
    assert redis_client.exists(session_key(planted)) == 0
    assert node.session_info(fresh)["username"] == "admin"


def test_sites_with_different_prefixes_never_see_each_other(odoo_nodes, redis_client):
    shop = odoo_nodes("shop", env={"ODOO_SESSION_REDIS_PREFIX": "shop"})
    intranet = odoo_nodes("intranet", env={"ODOO_SESSION_REDIS_PREFIX": "intranet"})
    sid = shop.login()
    assert intranet.session_info(sid) is None
    assert redis_client.exists(session_key(sid, "intranet")) == 0
    assert shop.session_info(sid)["username"] == "admin"


def test_no_password_in_logs_even_at_debug_level(odoo_nodes, tmp_path):
    secret = "hunter2-Secret"
    server = RedisServer(str(tmp_path / "locked"), password=secret).start()
    try:
        via_url = odoo_nodes(
            "url",
            env={"ODOO_SESSION_REDIS_URL": "redis://:%s@127.0.0.1:%d/0" % (secret, server.port)},
            start=False,
        )
        via_password = odoo_nodes(
            "password",
            env={
                "ODOO_SESSION_REDIS_URL": "",
                "ODOO_SESSION_REDIS_HOST": "127.0.0.1",
                "ODOO_SESSION_REDIS_PORT": str(server.port),
                "ODOO_SESSION_REDIS_PASSWORD": secret,
            },
            start=False,
        )
        via_query = odoo_nodes(  # redis-py reads ?password= too
            "query",
            env={"ODOO_SESSION_REDIS_URL": "redis://127.0.0.1:%d/0?password=%s" % (server.port, secret)},
            start=False,
        )
        sids = {}
        for node in (via_url, via_password, via_query):
            node.extra_args = ["--log-level=debug"]
            sids[node] = node.start().login()
            assert node.session_info(sids[node])["username"] == "admin"
        server.stop()  # error paths log too
        for node in (via_url, via_query):
            assert node.json("/web/session/get_session_info", session_id=sids[node]).status_code == 503
        wrong = odoo_nodes(
            "wrong", env={"ODOO_SESSION_REDIS_URL": "redis://:%s@127.0.0.1:notaport/0" % secret}, start=False
        )
        refused = wrong.run("--log-level=debug", "--stop-after-init")
        assert refused.returncode != 0 and "ODOO_SESSION_REDIS_URL" in refused.stdout
        assert secret not in refused.stdout
        for node in (via_url, via_password, via_query):
            log = node.log()
            assert "web sessions in Redis" in log and "Redis unavailable" in via_url.log()
            assert secret not in log
        assert "redis://:***@127.0.0.1" in via_url.log()
        assert "/0?password=***" in via_query.log() and "Redis unavailable" in via_query.log()
    finally:
        server.stop()


def test_a_late_answer_to_a_request_sent_before_the_login_does_not_log_the_user_out(odoo_nodes):
    """Odoo 11 sets the session cookie on every response. The login gives
    the session a new id; a request the page sent before it (an image, a
    poll of the bus) and answered after it must not put the old, dead id
    back in the browser. With files (addon off) the id does not change at
    login: the control shows the browser stays logged in there too."""
    outcomes = {}
    for mode, node in (("redis", odoo_nodes("redis")), ("files", odoo_nodes("files", redis=False))):
        browser = requests.Session()
        browser.get(node.url + "/web/login", timeout=30)
        before = browser.cookies["session_id"]
        login = browser.post(
            node.url + "/web/session/authenticate",
            json={"params": {"db": node.database, "login": "admin", "password": "admin"}},
            timeout=30,
        )
        assert login.json()["result"]["uid"]
        # answered now, sent before the login: with the cookie of then
        late = requests.get(node.url + "/web/login", cookies={"session_id": before}, timeout=30)
        browser.cookies.update(late.cookies)  # what a browser does with its Set-Cookie
        info = browser.post(node.url + "/web/session/get_session_info", json={"params": {}}, timeout=30)
        outcomes[mode] = (
            browser.cookies["session_id"] != before,
            (info.json().get("result") or {}).get("uid"),
        )
    assert outcomes == {"redis": (True, 1), "files": (False, 1)}
