"""Redis outages through real Odoo processes of every series, with a
redis-server of the test's own (stopped, hung, or started late on the same
port): 503 rather than 500 or a hang, the health probe, one log line and no
traceback, and healing without restarting Odoo, including a node that
started while Redis was down."""

import os
import signal
import time

import pytest
import requests

from session_redis.core.layout import session_key
from tests.support.probing import HEALTH
from tests.support.servers import SERIES, RedisServer, free_port, start_together

TIMEOUT = 30
EVERY_SERIES = ("11.0",) + SERIES
# Odoo 11 answers its own 503 page; 16+ the glue's
UNAVAILABLE = {"11.0": "temporarily unavailable"}


def some_sid(series):
    """A well-formed session id of that series, never stored."""
    return "5e" * (20 if series in ("11.0", "16.0", "17.0") else 42)


def health(node):
    return requests.get(node.url + HEALTH, timeout=TIMEOUT).status_code


def assert_503(response, series="18.0"):
    assert response.status_code == 503, response.text
    assert UNAVAILABLE.get(series, "Sessions are temporarily unavailable") in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("nodes", EVERY_SERIES, indirect=True)
def test_redis_outage_answers_503_and_both_nodes_heal_without_a_restart(nodes, tmp_path):
    series = nodes.series
    server = RedisServer(str(tmp_path / "redis")).start()
    late_port = free_port()  # no Redis there until later
    late_server = RedisServer(str(tmp_path / "late"), port=late_port)
    up = nodes("up", env={"ODOO_SESSION_REDIS_URL": server.url}, start=False)
    late = nodes("late", env={"ODOO_SESSION_REDIS_URL": late_server.url}, start=False)
    try:
        start_together(up, late)
        assert "Redis does not answer yet" in late.log()
        assert (health(up), health(late)) == (200, 503)
        sid = up.login()
        assert server.client().exists(session_key(sid)) == 1

        server.stop()
        assert health(up) == 503
        # on 16.0 Odoo loads the session outside its error handling: the glue answers
        assert_503(up.json("/web/session/get_session_info", session_id=sid), series)
        # a request with a session cookie (one without costs no Redis call at all)
        assert_503(late.json("/web/session/get_session_info", session_id=some_sid(series)), series)
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


@pytest.mark.parametrize("nodes", ["11.0", "18.0"], indirect=True)
def test_a_hung_redis_answers_503_within_the_timeout_and_heals(nodes, tmp_path, figure):
    server = RedisServer(str(tmp_path / "hung")).start()
    try:
        node = nodes(env={"ODOO_SESSION_REDIS_URL": server.url, "ODOO_SESSION_REDIS_SOCKET_TIMEOUT": "1"})
        sid = node.login()
        os.kill(server.process.pid, signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            started = time.monotonic()
            response = node.json("/web/session/get_session_info", session_id=sid)
            elapsed = time.monotonic() - started
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        figure(
            "hung Redis, Odoo %s: HTTP %d after %.2f s (socket timeout 1 s)"
            % (nodes.series, response.status_code, elapsed)
        )
        assert_503(response, nodes.series)
        assert len(response.text) < 2000
        assert node.log().count("Redis unavailable") == 1
        assert node.session_info(sid)["username"] == "admin"
    finally:
        server.stop()


@pytest.mark.parametrize("nodes", ["11.0", "18.0"], indirect=True)
def test_cluster_down_at_start_is_a_warning_and_a_503(nodes):
    nobody = "redis://127.0.0.1:%d/0" % free_port()
    node = nodes(env={"ODOO_SESSION_REDIS_CLUSTER": "true", "ODOO_SESSION_REDIS_URL": nobody})
    assert "Redis does not answer yet" in node.log()
    assert_503(node.json("/web/session/get_session_info", session_id=some_sid(nodes.series)), nodes.series)


@pytest.mark.parametrize("nodes", EVERY_SERIES, indirect=True)
def test_a_login_while_redis_is_down_logs_one_line_and_no_traceback(nodes, tmp_path):
    # Odoo 16+ saves (and rotates) the session inside its dispatcher: the
    # outage must not become a JSON-RPC error answered with HTTP 200
    server = RedisServer(str(tmp_path / "redis")).start()
    node = nodes("down", env={"ODOO_SESSION_REDIS_URL": server.url})
    try:
        cookie = node.login()
        server.stop()
        credentials = {"db": node.database, "login": "admin", "password": "admin"}
        for session_id in (None, cookie):  # a first login, and one from a browser that has a cookie
            before = len(node.log())
            assert_503(
                node.json("/web/session/authenticate", credentials, session_id=session_id), nodes.series
            )
            logged = node.log()[before:]
            errors = [line for line in logged.splitlines() if " ERROR " in line or " CRITICAL " in line]
            assert len(errors) == 1 and "Redis unavailable" in errors[0], logged
            assert "Traceback" not in logged
    finally:
        server.stop()
