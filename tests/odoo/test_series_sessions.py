"""The addon on Odoo 16, 17 and 18, through real Odoo processes of each
series and the private Redis: sessions shared between nodes (and not with
the addon off), every key of a session gone at logout and at the login's
rotation, nothing written for cookie-less visitors, the logged-in lifetime,
a new password, the health probe, the operator command, the move from
filesystem sessions and the prefork gevent process.

Two nodes with the addon on and two with it off are started once per
series (``nodes``) and shared by the tests of this file; a test that needs
other settings starts its own.
"""

import collections
import os
import subprocess
import uuid

import pytest
import requests

from session_redis.core.codec import decode_session
from session_redis.core.layout import META, device_index_key, session_key, user_index_key
from session_redis.core.store import short_hash
from tests.support.probing import command_calls, commands_since
from tests.support.servers import REPO, SERIES, NodeFactory, free_port, launcher, start_together, wait_until
from tests.support.websocket import BusSocket

pytestmark = pytest.mark.parametrize("series", SERIES, scope="module")

HEALTH = "/session_redis/health"
MAX_INACTIVITY = "sessions.max_inactivity_seconds"
ODOO_SESSION_LIFETIME = 7 * 24 * 3600  # Odoo's default for it (http.SESSION_LIFETIME)
IDENTIFIER = 42  # Odoo 18: the first 42 characters of an id name a device
TIMEOUT = 30

Nodes = collections.namedtuple("Nodes", "a b files_a files_b")


@pytest.fixture(scope="module")
def nodes(series, series_database, redis_server, tmp_path_factory):
    """Two threaded nodes with the addon on (the private Redis) and two
    with it off (each its own session folder), on the series' database."""
    folder = str(tmp_path_factory.mktemp("nodes-" + series))
    factory = NodeFactory(series_database(series), redis_server, folder, series=series)
    made = Nodes(
        factory("a", start=False),
        factory("b", start=False),
        factory("files_a", redis=False, start=False),
        factory("files_b", redis=False, start=False),
    )
    try:
        start_together(*made)
        yield made
    finally:
        factory.stop_all()


@pytest.fixture
def redis(redis_client):
    """The private Redis, empty at the start of the test too (the shared
    nodes outlive each test)."""
    redis_client.flushall()
    return redis_client


# --- helpers -----------------------------------------------------------------


def is_long_id(sid):
    """Odoo 18's ids (84 characters) carry a device identifier."""
    return len(sid) > 40


def traces_of(redis, sid):
    """Every key that still names session ``sid``: its own, a device index
    named by its identifier (Odoo 18), and any set that lists it (the user
    and device indexes)."""
    found = []
    for key in redis.scan_iter(count=1000):
        name = key.decode()
        if sid[:IDENTIFIER] in name:
            found.append(name)
        elif redis.type(key) == b"set" and redis.sismember(key, sid):
            found.append(name + " lists it")
    return sorted(found)


def call_kw(node, sid, model, method, *args, **kwargs):
    """``model.method(*args, **kwargs)`` through the web client's route, as
    the session ``sid``; the result."""
    params = {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
    body = node.json("/web/dataset/call_kw", params, session_id=sid).json()
    assert "error" not in body, body
    return body["result"]


def authenticate(node, sid, login="admin", password="admin"):
    """Log in through the session ``sid``; the id of the cookie Odoo sends back."""
    response = node.json(
        "/web/session/authenticate",
        {"db": node.database, "login": login, "password": password},
        session_id=sid,
    )
    assert response.json()["result"]["uid"], response.text
    return response.cookies["session_id"]


def stored_ttl(redis, sid):
    ttl = redis.ttl(session_key(sid))
    assert ttl > 0, "session %s... not stored with a TTL: %d" % (sid[:8], ttl)
    return ttl


def operator_command(series, tmp_path, redis_server):
    """``odoo --addons-path=<repo> session_redis ARGS`` of the series'
    launcher, with only the private Redis and a data folder of the test's
    own (``ODOO_RC``: the caller's ~/.odoorc never counts)."""
    rc_file = tmp_path / "odoorc"
    rc_file.write_text("[options]\ndata_dir = %s\n" % (tmp_path / "data"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ODOO_SESSION_REDIS")}
    environment.update(ODOO_RC=str(rc_file), ODOO_SESSION_REDIS_URL=redis_server.url)

    def run(*args):
        result = subprocess.run(
            [launcher(series), "--addons-path=" + REPO, "session_redis"] + list(args),
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout

    return run


# --- sharing -------------------------------------------------------------------


def test_a_login_is_known_on_the_other_node_with_the_addon_on_only(series, nodes, redis):
    sid = nodes.a.login()
    info = nodes.b.session_info(sid)
    assert (info["uid"], info["username"], info["db"]) == (2, "admin", nodes.a.database)
    assert redis.exists(session_key(sid)) == 1
    assert nodes.a.session_files() == [] and nodes.b.session_files() == []

    in_files = nodes.files_a.login()
    assert nodes.files_a.session_info(in_files)["uid"] == 2
    assert nodes.files_b.session_info(in_files) is None  # its own folder: it never heard of it
    assert in_files in nodes.files_a.session_files()
    assert traces_of(redis, in_files) == []


def test_health_says_where_the_sessions_are(series, nodes):
    on = requests.get(nodes.a.url + HEALTH, timeout=TIMEOUT)
    assert on.status_code == 200
    assert (on.json()["sessions"], on.json()["redis"]) == ("redis", "reachable")
    off = requests.get(nodes.files_a.url + HEALTH, timeout=TIMEOUT)
    assert off.status_code == 200
    assert off.json() == {"status": "ok", "sessions": "files"}
    assert "Set-Cookie" not in on.headers and "Set-Cookie" not in off.headers


# --- how sessions end and change id ----------------------------------------------


def test_logout_removes_every_key_of_the_session_and_both_nodes_refuse_it(series, nodes, redis):
    sid = nodes.a.login()
    other = nodes.a.login()  # the user's index outlives this logout
    expected = [session_key(sid), user_index_key(nodes.a.database, 2) + " lists it"]
    if is_long_id(sid):
        expected.append(device_index_key(sid[:IDENTIFIER]))
    assert traces_of(redis, sid) == sorted(expected)

    assert "error" not in nodes.b.json("/web/session/destroy", session_id=sid).json()

    assert nodes.a.session_info(sid) is None and nodes.b.session_info(sid) is None
    assert traces_of(redis, sid) == []  # the refusals wrote nothing back either
    assert redis.sismember(user_index_key(nodes.a.database, 2), other)
    assert nodes.b.session_info(other)["uid"] == 2


def test_login_rotates_the_id_and_leaves_no_key_of_the_old_one(series, nodes, redis):
    # An anonymous session Odoo stores (debug mode is kept in the session),
    # as a visitor, or an attacker planting an id, gets one before logging in.
    pre_login = requests.get(nodes.a.url + "/web/login?debug=1", timeout=TIMEOUT).cookies["session_id"]
    assert traces_of(redis, pre_login) == [session_key(pre_login)]

    logged_in = authenticate(nodes.a, pre_login)

    assert logged_in != pre_login
    if is_long_id(pre_login):
        assert logged_in[:IDENTIFIER] != pre_login[:IDENTIFIER]
    assert traces_of(redis, pre_login) == []
    # the other node checks the session token, which covers the new id
    assert nodes.b.session_info(logged_in)["username"] == "admin"
    assert call_kw(nodes.b, logged_in, "res.users", "read", [2], ["login"]) == [{"id": 2, "login": "admin"}]
    assert nodes.b.session_info(pre_login) is None


def test_cookie_less_requests_write_nothing_to_redis(series, nodes, redis):
    nodes.a.json("/web/session/get_session_info")  # any first-request work done
    before = command_calls(redis)
    for _ in range(10):
        response = requests.get(nodes.a.url + "/web/login", timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.cookies.get("session_id")  # Odoo hands each one a new session...
    assert commands_since(redis, before) == {}  # ...that costs not one Redis command
    assert redis.dbsize() == 0 and nodes.a.session_files() == []


def test_a_read_writes_nothing_and_a_change_is_saved_with_every_other_value(series, nodes, redis):
    """The store hands Odoo the dict it decoded (``loaded_session``, not
    Odoo's copying constructor): a session read is not dirty, and one
    changed afterwards (debug mode, on the other node) is saved whole."""
    sid = nodes.a.login()
    nodes.a.session_info(sid)  # 18+: the first request records the device (_trace)
    stored = decode_session(redis.get(session_key(sid)))
    before = command_calls(redis)
    for _ in range(5):
        assert nodes.b.session_info(sid)["uid"] == 2
    assert set(commands_since(redis, before)) == {"get"}
    response = requests.get(nodes.b.url + "/web?debug=1", cookies={"session_id": sid}, timeout=TIMEOUT)
    assert response.status_code == 200
    saved = decode_session(redis.get(session_key(sid)))
    assert (stored.get("debug"), saved.get("debug")) == ("", "1")
    unchanged = set(stored) - {"debug", META}
    assert {key: saved[key] for key in unchanged} == {key: stored[key] for key in unchanged}
    assert set(saved) - {"debug", META} == unchanged
    assert nodes.a.session_info(sid)["uid"] == 2


def test_the_logged_in_lifetime_is_odoos_max_inactivity_unless_expiration_is_set(
    series, nodes, redis, series_nodes
):
    admin = nodes.a.login()
    assert ODOO_SESSION_LIFETIME - 10 <= stored_ttl(redis, admin) <= ODOO_SESSION_LIFETIME
    # Odoo caches its parameters: set through the ORM, which tells every
    # node (a row written with SQL is not seen until a restart)
    assert call_kw(nodes.a, admin, "ir.config_parameter", "set_param", MAX_INACTIVITY, "5000") is False
    try:
        on_b = nodes.b.login()
        assert 4990 <= stored_ttl(redis, on_b) <= 5000
        assert nodes.a.session_info(on_b)["uid"] == 2  # the parameter changes no session's validity

        fixed = series_nodes(series)("fixed", env={"ODOO_SESSION_REDIS_EXPIRATION": "3000"})
        assert 2990 <= stored_ttl(redis, fixed.login()) <= 3000
    finally:
        call_kw(nodes.a, admin, "ir.config_parameter", "set_param", MAX_INACTIVITY, False)
    assert ODOO_SESSION_LIFETIME - 10 <= stored_ttl(redis, nodes.b.login()) <= ODOO_SESSION_LIFETIME


def test_a_new_password_set_by_an_admin_ends_the_users_sessions_in_redis(series, nodes, redis):
    admin = nodes.a.login()
    login = "user_%s" % uuid.uuid4().hex[:8]
    uid = call_kw(
        nodes.a, admin, "res.users", "create", {"name": login, "login": login, "password": "first-%s" % login}
    )
    sessions = [nodes.a.login(login, "first-" + login), nodes.b.login(login, "first-" + login)]
    index = user_index_key(nodes.a.database, uid)
    assert redis.smembers(index) == {sid.encode() for sid in sessions}

    assert call_kw(nodes.a, admin, "res.users", "write", [uid], {"password": "second-" + login}) is True

    assert [traces_of(redis, sid) for sid in sessions] == [[], []]
    assert redis.exists(index) == 0
    assert [nodes.b.session_info(sid) for sid in sessions] == [None, None]
    assert nodes.b.session_info(admin)["uid"] == 2  # the admin's own session is untouched
    assert nodes.b.session_info(nodes.b.login(login, "second-" + login))["uid"] == uid


# --- the operator command --------------------------------------------------------


def test_operator_command_counts_lists_and_revokes_the_sessions(series, nodes, redis, redis_server, tmp_path):
    command = operator_command(series, tmp_path, redis_server)
    database = nodes.a.database
    sessions = [nodes.a.login(), nodes.b.login()]

    assert "sessions: 2 (logged in 2, anonymous 0, unreadable 0)" in command("stats")

    listed = command("sessions", "--login", "admin", "--db", database)
    assert "2 sessions of login 'admin' in database %r (user id 2)" % database in listed
    assert all("  %s  created " % short_hash(sid) in listed for sid in sessions), listed
    assert not any(sid[:8] in listed for sid in sessions)  # an id is a secret, even in part

    revoked = command("revoke", "--login", "admin", "--db", database)
    expected = "revoked 2 sessions of login 'admin' in database %r (user id 2, per-user index)"
    assert expected % database in revoked
    assert [nodes.b.session_info(sid) for sid in sessions] == [None, None]
    assert redis.dbsize() == 0  # the sessions, the user's index and (18) the device indexes
    assert "sessions: 0 (logged in 0" in command("stats")


# --- from filesystem sessions to Redis ---------------------------------------------


def test_filesystem_sessions_move_to_redis_and_a_failed_copy_purges_nothing(
    series, nodes, redis, redis_server, series_nodes
):
    old = series_nodes(series)("old", redis=False)
    sid = old.login()
    old.stop()
    files = old.session_files()
    assert sid in files

    old.env = {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_URL": "redis://127.0.0.1:%d/0" % free_port(),  # nobody there
        "ODOO_SESSION_REDIS_COPY_EXISTING_FS_SESSIONS": "true",
        "ODOO_SESSION_REDIS_PURGE_EXISTING_FS_SESSIONS": "true",
    }
    failed = old.run("--stop-after-init")
    assert failed.returncode != 0, failed.stdout
    assert "copying filesystem sessions failed, nothing purged" in failed.stdout
    assert sorted(old.session_files()) == sorted(files)

    old.env["ODOO_SESSION_REDIS_URL"] = redis_server.url
    moved = old.run("--stop-after-init")
    assert moved.returncode == 0, moved.stdout
    assert "copied %d filesystem sessions" % len(files) in moved.stdout
    assert "deleted %d filesystem session files" % len(files) in moved.stdout
    assert old.session_files() == []

    assert nodes.b.session_info(sid)["username"] == "admin"
    assert redis.sismember(user_index_key(old.database, 2), sid)  # copied sessions join their index


# --- prefork ---------------------------------------------------------------------


def test_prefork_gevent_process_reads_the_session_from_redis(series, series_nodes, redis):
    node = series_nodes(series, workers=2)("prefork")
    sid = node.login()
    assert redis.exists(session_key(sid)) == 1 and node.session_files() == []

    def info_from_gevent():
        body = requests.post(
            node.longpolling_url + "/web/session/get_session_info",
            json={"jsonrpc": "2.0", "method": "call", "params": {}},
            cookies={"session_id": sid},
            timeout=TIMEOUT,
        ).json()
        return body.get("result")

    assert info_from_gevent()["uid"] == 2
    node.json("/web/session/destroy", session_id=sid)  # through a worker of the HTTP port
    assert info_from_gevent() is None
    assert "Traceback" not in node.log()


# --- the websocket bus ---------------------------------------------------------


def test_each_websocket_message_reads_the_session_with_one_get_and_writes_nothing(
    series, series_nodes, redis
):
    """Odoo's bus reads the session for every message a client sends on its
    websocket (served by the prefork node's gevent process): one GET each,
    never a write, however many messages."""
    node = series_nodes(series, workers=2)("websocket")
    sid = node.login()
    bus = BusSocket(node.longpolling_url, sid)
    try:
        before = command_calls(redis)
        messages = 8  # Odoo closes a socket that sends more than 10 in a burst
        for _ in range(messages + 1):  # the last one only marks the end of the others
            bus.send("subscribe", {"channels": [], "last": 0})
        wait_until(
            lambda: commands_since(redis, before).get("get", 0) >= messages + 1,
            TIMEOUT,
            "the node to read the session for each message",
        )
        # only reads: on 16 a subscription also reads the session again to
        # deliver what is pending
        assert {name: calls for name, calls in commands_since(redis, before).items() if name != "get"} == {}
        print(
            "Odoo %s: %.2f Redis commands (GET) per websocket message"
            % (series, commands_since(redis, before)["get"] / float(messages + 1))
        )
    finally:
        bus.close()
    assert "Traceback" not in node.log()
