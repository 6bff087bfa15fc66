"""Other addons and clients that touch sessions, on real Odoo 11 nodes.

OCA's auth_session_timeout and auth_totp are installed in a database of
this module's own; the nodes share one Redis (or keep files, addon off).
RPC clients go through nginx balancing at random over two nodes.
"""

import re
import time
import uuid
import xmlrpc.client

import psycopg2
import pytest
import requests

from session_redis.core.layout import session_key
from tests.support.servers import OdooNode, drop_database
from tests.support.web_client import call_kw

DELAY = 5
IGNORED = "/web/dataset/call_kw/ignored"


@pytest.fixture(scope="module")
def odoo_database(tmp_path_factory):
    """Overrides conftest's: a database with the two OCA addons installed,
    a 5 s idle delay and one ignored URL of our own."""
    name = "session_redis_compat_%s" % uuid.uuid4().hex[:8]
    init = str(tmp_path_factory.mktemp("compat") / "init")
    built = OdooNode(name, init, {}).run(
        "-i", "auth_session_timeout,auth_totp", "--without-demo=all", "--stop-after-init", timeout=600
    )
    assert built.returncode == 0, built.stdout[-3000:]
    connection = psycopg2.connect(dbname=name)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ir_config_parameter SET value = %s WHERE key = 'inactive_session_time_out_delay'",
            (str(DELAY),),
        )
        cursor.execute(
            "UPDATE ir_config_parameter SET value = %s WHERE key = 'inactive_session_time_out_ignored_url'",
            ("/longpolling/poll," + IGNORED,),
        )
    connection.close()
    yield type("Database", (), {"name": name, "filestore": init + "/filestore"})
    drop_database(name)


def idle_scenario(nodes, seconds=10):
    """Three sessions for ``seconds``: one active every second (alternating
    nodes), one idle, one calling only an ignored URL; after 7 s the idle
    and ignored ones make a normal call, one on each node."""
    sids = {name: nodes[0].login() for name in ("active", "idle", "ignored")}
    outcomes = {"active": [], "ignored": []}
    for second in range(seconds):
        node = nodes[second % len(nodes)]
        outcomes["active"].append(call_kw(requests, node.url, sid=sids["active"]))
        if second < 7:
            outcomes["ignored"].append(call_kw(requests, node.url, IGNORED, sid=sids["ignored"]))
        if second == 7:
            outcomes["idle"] = call_kw(requests, nodes[0].url, sid=sids["idle"])
            outcomes["ignored after 7 s"] = call_kw(requests, nodes[-1].url, sid=sids["ignored"])
        time.sleep(1)
    outcomes["active then"] = [call_kw(requests, node.url, sid=sids["active"]) for node in nodes]
    outcomes["idle then"] = [node.session_info(sids["idle"]) for node in nodes]
    return sids, outcomes


def test_auth_session_timeout_is_enforced_alike_on_both_nodes(odoo_nodes, redis_client):
    a, b = odoo_nodes("a"), odoo_nodes("b")
    sids, outcomes = idle_scenario([a, b])
    assert outcomes["active"] == ["ok"] * 10 and outcomes["active then"] == ["ok", "ok"]
    assert outcomes["ignored"][:4] == ["ok"] * 4  # 4 s: within the delay
    assert outcomes["idle"] == "expired" and outcomes["ignored after 7 s"] == "expired"
    assert outcomes["idle then"] == [None, None]
    # logged out the addon's way: logout() gives the session a new id, the old key is gone
    assert redis_client.exists(session_key(sids["idle"])) == 0
    assert redis_client.exists(session_key(sids["active"])) == 1
    for node in (a, b):
        # (not "no Traceback": Odoo 11's start-up race, see the guide, may log one)
        assert "AttributeError" not in node.log() and "get_session_filename" not in node.log()
        assert "activity record unreadable" not in node.log()


def test_auth_session_timeout_still_works_with_files_when_the_addon_is_off(odoo_nodes, redis_client):
    node = odoo_nodes("files", redis=False)
    sids, outcomes = idle_scenario([node], seconds=8)
    assert outcomes["active"] == ["ok"] * 8 and outcomes["idle"] == "expired"
    assert outcomes["idle then"] == [None]
    assert redis_client.dbsize() == 0 and node.session_files()


def test_a_login_refreshes_the_idle_clock_of_an_older_anonymous_session(odoo_nodes):
    """The anonymous visitor's activity, recorded on public routes, must not
    expire the session at once when that visitor logs in."""
    a, b = odoo_nodes("a"), odoo_nodes("b")
    http = requests.Session()
    http.get(a.url + "/web/login", timeout=30)
    time.sleep(DELAY + 1)
    login = http.post(
        b.url + "/web/session/authenticate",
        json={"params": {"db": a.database, "login": "admin", "password": "admin"}},
        timeout=30,
    )
    assert login.json()["result"]["uid"]
    assert call_kw(http, a.url) == "ok" and call_kw(http, b.url) == "ok"


# --- auth_totp: a login with a second factor started on one node, finished on the other


def csrf_token(http, url):
    page = http.get(url, timeout=30).text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def enable_totp(node, secret):
    """Give admin an authenticator app with ``secret`` and switch MFA on."""
    models = xmlrpc.client.ServerProxy(node.url + "/xmlrpc/2/object")
    models.execute_kw(
        node.database,
        1,  # admin is the superuser in Odoo 11
        "admin",
        "res.users",
        "write",
        [[1], {"authenticator_ids": [(0, 0, {"name": "phone", "secret_key": secret})], "mfa_enabled": True}],
    )


def fresh_code(totp):
    """The current code, with at least 3 s of its 30 s window left: the
    addon accepts only the current window's code."""
    if totp.interval - time.time() % totp.interval < 3:
        time.sleep(3)
    return totp.now()


def totp_login(first, second, code):
    """Password on ``first``, code on ``second``; the session's uid after."""
    http = requests.Session()
    token = csrf_token(http, first.url + "/web/login")
    step1 = http.post(
        first.url + "/web/login",
        data={"login": "admin", "password": "admin", "csrf_token": token, "redirect": ""},
        allow_redirects=False,
        timeout=30,
    )
    assert "/auth_totp/login" in step1.text, step1.text[:500]  # a redirect that keeps the hash
    token = csrf_token(http, second.url + "/auth_totp/login")
    step2 = http.post(
        second.url + "/auth_totp/login",
        data={
            "confirmation_code": code() if callable(code) else code,
            "csrf_token": token,
            "redirect": "/web",
        },
        allow_redirects=False,
        timeout=30,
    )
    info = http.post(second.url + "/web/session/get_session_info", json={"params": {}}, timeout=30).json()
    # local_redirect(keep_hash=True) answers a page that sets window.location
    return step2.headers.get("Location", "") + step2.text, (info.get("result") or {}).get("uid")


def test_auth_totp_login_started_on_one_node_is_finished_on_the_other(odoo_nodes):
    """Node b must see what node a put in the session at the password step
    (the login), else it answers "log in with a password first". The end
    result must be the one of one node with files: auth_totp 11.0 then
    authenticates again with ``session['password']``, which Odoo 11 no
    longer keeps, so even with files the session is not logged in (README,
    Known issues)."""
    pyotp = pytest.importorskip("pyotp")
    a, b = odoo_nodes("a"), odoo_nodes("b")
    files = odoo_nodes("files", redis=False)
    secret = pyotp.random_base32()
    enable_totp(a, secret)
    wrong_code = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    outcomes = {}
    for mode, first, second in (("files", files, files), ("redis", a, b)):
        wrong, wrong_uid = totp_login(first, second, wrong_code)
        right, right_uid = totp_login(first, second, lambda: fresh_code(pyotp.TOTP(secret)))
        outcomes[mode] = (
            "code+is+not+correct" in wrong or "code is not correct" in wrong,
            wrong_uid,
            right,
            right_uid,
        )
    assert outcomes["redis"][0] and outcomes["files"][0]  # wrong code refused
    assert "error=" not in outcomes["redis"][2] and "/web" in outcomes["redis"][2]  # right code accepted on b
    assert outcomes["redis"][1:] == outcomes["files"][1:]
