"""Redis outages on Odoo 16, 17 and 18, through real Odoo processes of each
series and a redis-server of the test's own (stopped and started again on
the same port): 503 rather than 500, the health probe, and healing without
restarting Odoo, including a node that started while Redis was down."""

import pytest
import requests

from session_redis.core.layout import session_key
from tests.support.probing import HEALTH
from tests.support.servers import SERIES, RedisServer, free_port, start_together

TIMEOUT = 30

SOME_SID = {
    "16.0": "5e" * 20,
    "17.0": "5e" * 20,
    "18.0": "5e" * 42,
    "19.0": "5e" * 42,
}  # well formed, never stored


def health(node):
    return requests.get(node.url + HEALTH, timeout=TIMEOUT).status_code


def assert_503(response):
    assert response.status_code == 503, response.text
    assert "Sessions are temporarily unavailable" in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("series", SERIES)
def test_redis_outage_answers_503_and_both_nodes_heal_without_a_restart(series, series_nodes, tmp_path):
    server = RedisServer(str(tmp_path / "redis")).start()
    late_port = free_port()  # no Redis there until later
    late_server = RedisServer(str(tmp_path / "late"), port=late_port)
    factory = series_nodes(series)
    up = factory("up", env={"ODOO_SESSION_REDIS_URL": server.url}, start=False)
    late = factory("late", env={"ODOO_SESSION_REDIS_URL": late_server.url}, start=False)
    try:
        start_together(up, late)
        assert "Redis does not answer yet" in late.log()
        assert (health(up), health(late)) == (200, 503)
        sid = up.login()
        assert server.client().exists(session_key(sid)) == 1

        server.stop()
        assert health(up) == 503
        # on 16.0 Odoo loads the session outside its error handling: the glue answers
        assert_503(up.json("/web/session/get_session_info", session_id=sid))
        assert_503(late.json("/web/session/get_session_info", session_id=SOME_SID[series]))
        assert "session load failed, Redis unavailable" in up.log()

        server = RedisServer(server.folder, port=server.port).start()  # empty: no persistence
        assert health(up) == 200
        assert up.session_info(sid) is None
        again = up.login()
        assert up.session_info(again)["username"] == "admin"

        late_server.start()
        assert health(late) == 200
        assert late.session_info(late.login())["username"] == "admin"
        assert late_server.client().dbsize() > 0  # in the Redis that came up, not in files
        assert late.session_files() == [] and up.session_files() == []
        assert "Traceback" not in up.log() + late.log()
    finally:
        server.stop()
        late_server.stop()


@pytest.mark.parametrize("series", SERIES)
def test_a_json_login_while_redis_is_down_answers_503(series, series_nodes):
    # Odoo 16+ saves (and rotates) the session inside its dispatcher: the
    # outage must not become a JSON-RPC error answered with HTTP 200
    nobody = "redis://127.0.0.1:%d/0" % free_port()
    node = series_nodes(series)("down", env={"ODOO_SESSION_REDIS_URL": nobody})
    credentials = {"db": node.database, "login": "admin", "password": "admin"}
    assert_503(node.json("/web/session/authenticate", credentials))


@pytest.mark.parametrize("series", ("11.0",) + SERIES)
def test_a_login_while_redis_is_down_logs_one_line_and_no_traceback(series, request, tmp_path):
    server = RedisServer(str(tmp_path / "redis")).start()
    if series == "11.0":
        factory = request.getfixturevalue("odoo_nodes")
    else:
        factory = request.getfixturevalue("series_nodes")(series)
    node = factory("down", env={"ODOO_SESSION_REDIS_URL": server.url})
    try:
        cookie = node.login()
        server.stop()
        credentials = {"db": node.database, "login": "admin", "password": "admin"}
        for session_id in (None, cookie):  # a first login, and one from a browser that has a cookie
            before = len(node.log())
            assert_503(node.json("/web/session/authenticate", credentials, session_id=session_id))
            logged = node.log()[before:]
            errors = [line for line in logged.splitlines() if " ERROR " in line or " CRITICAL " in line]
            assert len(errors) == 1 and "Redis unavailable" in errors[0], logged
            assert "Traceback" not in logged
    finally:
        server.stop()
