"""Real Odoo 11 nodes sharing one Redis: what a load-balanced site sees."""

import pytest
import requests

from session_redis.core.layout import session_key
from tests.support.servers import RedisServer, free_port


def key_of(sid, prefix=""):
    return session_key(sid, prefix).encode()


def test_login_on_one_node_is_known_on_the_other(odoo_nodes, redis_client):
    a, b = odoo_nodes("a"), odoo_nodes("b")
    sid = a.login()
    info = b.session_info(sid)
    assert info["uid"] == a.session_info(sid)["uid"] and info["uid"]
    assert info["username"] == "admin" and info["session_id"] == sid
    assert redis_client.exists(key_of(sid)) == 1


def test_a_login_writes_the_session_and_its_index_and_no_side_record(odoo_nodes, redis_client):
    """auth_session_timeout is on the addons path but not installed in this
    database: its activity record would cost a key and a write for nothing."""
    node = odoo_nodes()
    sid = node.login()
    node.session_info(sid)
    keys = sorted(key.decode() for key in redis_client.scan_iter(match="session:*"))
    assert keys == sorted(
        [session_key(sid), "session:user:%d:%s" % (node.session_info(sid)["uid"], node.database)]
    )


def test_restarted_node_keeps_its_users_logged_in(odoo_nodes):
    a = odoo_nodes("a")
    sid = a.login()
    a.restart()
    assert a.session_info(sid)["username"] == "admin"


def test_logout_deletes_the_key_and_every_node_refuses_the_cookie(odoo_nodes, redis_client):
    a, b = odoo_nodes("a"), odoo_nodes("b")
    sid = a.login()
    a.json("/web/session/destroy", session_id=sid)
    assert redis_client.exists(key_of(sid)) == 0
    assert b.session_info(sid) is None


def test_ttls_and_prefix_are_the_configured_ones(odoo_nodes, redis_client):
    node = odoo_nodes(
        env={
            "ODOO_SESSION_REDIS_PREFIX": "site1",
            "ODOO_SESSION_REDIS_EXPIRATION": "5000",
            "ODOO_SESSION_REDIS_EXPIRATION_ANONYMOUS": "300",
        }
    )
    sid = node.login()
    assert 4990 <= redis_client.ttl(key_of(sid, "site1")) <= 5000
    anonymous = requests.get(node.url + "/web/login", timeout=30).cookies["session_id"]
    failed = {"db": node.database, "login": "admin", "password": "wrong"}  # leaves its login: stored
    assert not node.json("/web/session/authenticate", failed, session_id=anonymous).json()["result"]["uid"]
    assert 290 <= redis_client.ttl(key_of(anonymous, "site1")) <= 300
    assert redis_client.exists(key_of(sid)) == 0


def test_addon_on_writes_no_session_file(odoo_nodes):
    node = odoo_nodes()
    sid = node.login()
    node.session_info(sid)
    requests.get(node.url + "/web/login", timeout=30)
    assert node.session_files() == []


def test_addon_off_leaves_sessions_in_files_and_redis_empty(odoo_nodes, redis_client):
    node = odoo_nodes(redis=False)
    sid = node.login()
    assert "werkzeug_%s.sess" % sid in node.session_files()
    assert redis_client.dbsize() == 0
    assert "web sessions stay in files" in node.log()


def test_filesystem_sessions_survive_the_switch_to_redis(odoo_nodes, redis_server, redis_client):
    old = odoo_nodes("old", redis=False)
    sid = old.login()
    old.stop()
    files = len(old.session_files())
    old.env = {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_URL": redis_server.url,
        "ODOO_SESSION_REDIS_COPY_EXISTING_FS_SESSIONS": "true",
    }
    run = old.run("--stop-after-init")
    assert run.returncode == 0, run.stdout
    assert "copied %d filesystem sessions" % files in run.stdout
    assert len(old.session_files()) == files  # copy alone keeps the files
    assert odoo_nodes("new").session_info(sid)["username"] == "admin"

    old.env["ODOO_SESSION_REDIS_PURGE_EXISTING_FS_SESSIONS"] = "1"
    run = old.run("--stop-after-init")
    assert run.returncode == 0, run.stdout
    assert "skipped %d already in Redis" % files in run.stdout
    assert "deleted %d filesystem session files" % files in run.stdout
    assert old.session_files() == []


def test_purge_alone_deletes_every_session_file(odoo_nodes, redis_client):
    node = odoo_nodes("fs", redis=False)
    node.login()
    node.stop()
    assert node.session_files()
    node.env = {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_PURGE_EXISTING_FS_SESSIONS": "on"}
    assert node.run("--stop-after-init").returncode == 0
    assert node.session_files() == [] and redis_client.dbsize() == 0


@pytest.mark.parametrize(
    "variable, value",
    [
        ("ODOO_SESSION_REDIS_PORT", "abc"),
        ("ODOO_SESSION_REDIS_EXPIRATION", "-1"),
        ("ODOO_SESSION_REDIS", "maybe"),
        ("ODOO_SESSION_REDIS_SENTINEL_HOST", "sentinel.internal"),
        ("ODOO_SESSION_REDIS_URL", "http://:hunter2@localhost"),
    ],
)
def test_a_bad_setting_stops_the_server_naming_it(odoo_nodes, variable, value):
    node = odoo_nodes(env={variable: value}, start=False)
    run = node.run("--stop-after-init")
    assert run.returncode != 0
    named = [line for line in run.stdout.splitlines() if variable in line and "session_redis" in line]
    assert named, run.stdout
    assert "hunter2" not in run.stdout
    assert "Failed to load server-wide module" not in run.stdout


def test_odoo_httpcase_helpers_work_on_the_redis_store(odoo_nodes):
    node = odoo_nodes(start=False)
    run = node.run(
        "-i",
        "session_redis",
        "--test-enable",
        "--stop-after-init",
        "--http-port=%d" % free_port(),
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-5000:]
    assert "test_http_case: Ran 2 tests" in run.stdout, run.stdout[-5000:]
    assert "test_http_case: OK" in run.stdout, run.stdout[-5000:]
    # 8 tests, and the same 8 and one more with hashed ids
    assert "test_user_sessions: Ran 17 tests" in run.stdout, run.stdout[-5000:]
    assert "test_user_sessions: OK" in run.stdout, run.stdout[-5000:]


def test_redis_outage_answers_503_and_heals_when_redis_returns(odoo_nodes, tmp_path):
    persistent = ["--appendonly", "yes", "--appendfsync", "always"]
    server = RedisServer(str(tmp_path / "outage"), extra_args=persistent).start()
    try:
        node = odoo_nodes(env={"ODOO_SESSION_REDIS_URL": server.url})
        sid = node.login()
        server.stop()
        response = node.json("/web/session/get_session_info", session_id=sid)
        assert response.status_code == 503
        assert "Sessions are temporarily unavailable" in response.text
        assert "Traceback" not in response.text
        assert "session load failed, Redis unavailable" in node.log()
        server.start()
        assert node.session_info(sid)["username"] == "admin"
    finally:
        server.stop()
