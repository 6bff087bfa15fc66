"""Bots and probes cost nothing: a request without a session cookie whose
session ends with nothing but Odoo's defaults writes nothing to Redis,
while the login form (its CSRF token is derived from the session id), Odoo's
"session expired" answer and fixation protection keep working, the same
as with files."""

import re

import pytest
import requests

from session_redis.core.layout import session_key
from session_redis.core.settings import DEFAULT_EXPIRATION_ANONYMOUS

# What crawlers and load-balancer probes ask for, without a cookie.
COOKIELESS = [
    ("GET", "/web/login"),
    ("GET", "/web"),
    ("GET", "/web/webclient/version_info"),
    ("GET", "/web/database/selector"),
]

WRITES = ("set", "setex", "psetex", "expire", "pexpire", "del", "unlink", "getset")


def commands_by_name(redis_client):
    return {
        name[len("cmdstat_") :]: stat["calls"] for name, stat in redis_client.info("commandstats").items()
    }


def test_a_thousand_cookieless_requests_write_nothing(odoo_nodes, redis_client, figure):
    node = odoo_nodes()
    redis_client.config_resetstat()
    answered = 0
    for number in range(1000):
        method, path = COOKIELESS[number % len(COOKIELESS)]
        response = requests.request(method, node.url + path, timeout=30, allow_redirects=False)
        assert response.status_code < 500, (path, response.status_code)
        answered += 1
    calls = commands_by_name(redis_client)
    writes = {name: count for name, count in calls.items() if name in WRITES}
    figure("bots: %d cookie-less requests, Redis writes %s, all commands %s" % (answered, writes, calls))
    assert writes == {} and redis_client.dbsize() == 0


def test_what_a_real_session_costs_in_redis_memory(odoo_nodes, redis_client, figure):
    node = odoo_nodes()
    logged_in = redis_client.memory_usage(session_key(node.login()))
    hours = DEFAULT_EXPIRATION_ANONYMOUS / 3600.0
    figure(
        "capacity: %d bytes per logged-in session; a crawler that never returns its cookie costs "
        "0 bytes (its sessions hold only Odoo's defaults and are not written; anonymous sessions "
        "that hold something live %.0f h)" % (logged_in, hours)
    )
    assert 0 < logged_in < 2048


def login_through_the_form(node, session):
    """GET the form (a session id the server may never have stored, and a
    CSRF token derived from it), POST it; return the response."""
    form = session.get(node.url + "/web/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return session.post(
        node.url + "/web/login",
        data={"csrf_token": token, "login": "admin", "password": "admin", "redirect": ""},
        timeout=30,
        allow_redirects=False,
    )


@pytest.mark.parametrize("redis", [True, False], ids=["redis", "files"])
def test_the_login_form_works_on_an_id_that_was_never_stored(odoo_nodes, redis_client, redis):
    node = odoo_nodes(redis=redis)
    browser = requests.Session()
    first = browser.get(node.url + "/web/login", timeout=30).cookies["session_id"]
    if redis:
        assert redis_client.dbsize() == 0  # the anonymous visit wrote nothing
    answer = login_through_the_form(node, browser)
    # Odoo 11 answers a successful login with a page that moves to /web
    assert "window.location = '/web'" in answer.text and "oe_login_form" not in answer.text, answer.text[:500]
    now = browser.cookies["session_id"]
    assert node.session_info(now)["username"] == "admin"
    if redis:
        assert now != first and node.session_info(first) is None  # a never-stored id never logs in


def test_an_unknown_id_gets_odoos_session_expired_answer(odoo_nodes):
    node = odoo_nodes()
    body = node.json("/web/session/get_session_info", session_id="ab" * 20).json()
    assert body["error"]["data"]["name"] == "odoo.http.SessionExpiredException"


def test_with_rotation_off_a_planted_id_never_stored_still_rotates(odoo_nodes, redis_client):
    """The store keeps unknown ids (as Odoo's own store does): without this,
    an attacker could plant any id and share the victim's login."""
    node = odoo_nodes(env={"ODOO_SESSION_REDIS_ROTATE_ON_LOGIN": "0"})
    planted = "fe" * 20
    response = node.json(
        "/web/session/authenticate",
        {"db": node.database, "login": "admin", "password": "admin"},
        session_id=planted,
    )
    fresh = response.cookies["session_id"]
    assert fresh != planted and response.json()["result"]["session_id"] == fresh
    assert node.session_info(planted) is None and node.session_info(fresh)["username"] == "admin"
    assert redis_client.exists(session_key(planted)) == 0
