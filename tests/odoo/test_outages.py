"""Redis outages through a real Odoo 11 node: a short 503, no hung worker,
no crash at start-up, and healing by itself."""

import os
import signal
import time

from tests.support.servers import RedisServer, free_port

SOME_SID = "5e" * 20


def test_a_hung_redis_answers_503_within_the_timeout_and_heals(odoo_nodes, tmp_path, figure):
    server = RedisServer(str(tmp_path / "hung")).start()
    try:
        node = odoo_nodes(
            env={"ODOO_SESSION_REDIS_URL": server.url, "ODOO_SESSION_REDIS_SOCKET_TIMEOUT": "1"}
        )
        sid = node.login()
        os.kill(server.process.pid, signal.SIGSTOP)  # accepts connections, answers nothing
        try:
            started = time.monotonic()
            response = node.json("/web/session/get_session_info", session_id=sid)
            elapsed = time.monotonic() - started
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        figure("hung Redis: HTTP %d after %.2f s (socket timeout 1 s)" % (response.status_code, elapsed))
        assert response.status_code == 503
        assert len(response.text) < 2000 and "temporarily unavailable" in response.text
        assert node.log().count("Redis unavailable") == 1
        assert node.session_info(sid)["username"] == "admin"
    finally:
        server.stop()


def test_redis_down_at_start_is_a_warning_and_the_node_heals(odoo_nodes, tmp_path):
    port = free_port()
    node = odoo_nodes(env={"ODOO_SESSION_REDIS_URL": "redis://127.0.0.1:%d/0" % port})
    assert "Redis does not answer yet" in node.log()
    # a request with a session cookie (one without costs no Redis call at all)
    assert node.json("/web/session/get_session_info", session_id=SOME_SID).status_code == 503
    server = RedisServer(str(tmp_path / "late"), port=port).start()
    try:
        sid = node.login()
        assert node.session_info(sid)["username"] == "admin"
    finally:
        server.stop()


def test_cluster_down_at_start_is_a_warning_and_a_503(odoo_nodes):
    node = odoo_nodes(
        env={
            "ODOO_SESSION_REDIS_CLUSTER": "true",
            "ODOO_SESSION_REDIS_URL": "redis://127.0.0.1:%d/0" % free_port(),
        }
    )
    assert "Redis does not answer yet" in node.log()
    response = node.json("/web/session/get_session_info", session_id=SOME_SID)
    assert response.status_code == 503 and "temporarily unavailable" in response.text
