"""OCA's auth_session_timeout on Odoo 16 to 19, with the addon's wheel from
PyPI (requirements-oca16plus.txt, installed by tools/bootstrap-series).

The addon reads and touches each session's *file*; this store has none, and
without its glue (session_redis/idle_timeout.py) every logged-in request
failed with ``NotOfferedByRedisStore``. Over two nodes sharing Redis: a user
who keeps working stays logged in on both, one idle past the delay is
logged out on both, a session that calls only an ignored URL is idle too,
and no session file is written. One node with files (the addon off) gives
the same outcomes: that is the addon's own behaviour, which the glue keeps
(on 16+ the request that finds a session idle still finishes; the next
ones are logged out). The addon's own tests pass with the store on.
"""

import time

import psycopg2
import pytest
import requests

from session_redis.core.layout import session_key
from tests.support.servers import SERIES, NodeFactory, copy_of, drop_database, free_port, start_together
from tests.support.web_client import call_kw

pytestmark = pytest.mark.parametrize("series", SERIES, scope="module")

DELAY = 5
IGNORED = "/web/dataset/call_kw/ignored"


@pytest.fixture(scope="module")
def timeout_database(series, series_database, redis_server, tmp_path_factory):
    """A copy of the series' database with auth_session_timeout installed
    (with the store on, its own tests run at the install), a 5 s idle
    delay and one ignored URL of our own; the install's log."""
    database = copy_of(series_database(series))
    folder = str(tmp_path_factory.mktemp("timeout-" + series))
    try:
        installer = NodeFactory(database, redis_server, folder, series=series)("install", start=False)
        installed = installer.run(
            "-i",
            "auth_session_timeout",
            "--test-enable",
            "--test-tags",
            "/auth_session_timeout",
            "--stop-after-init",
            "--http-port=%d" % free_port(),  # 19 serves HTTP while its tests run
            timeout=600,
        )
        assert installed.returncode == 0, installed.stdout[-3000:]
        connection = psycopg2.connect(dbname=database.name)
        with connection, connection.cursor() as cursor:
            for key, value in (
                ("inactive_session_time_out_delay", str(DELAY)),
                ("inactive_session_time_out_ignored_url", IGNORED),
            ):
                cursor.execute("UPDATE ir_config_parameter SET value = %s WHERE key = %s", (value, key))
                assert cursor.rowcount == 1, key
        connection.close()
        yield database, installed.stdout
    finally:
        drop_database(database.name)


@pytest.fixture(scope="module")
def timeout_nodes(series, timeout_database, redis_server, tmp_path_factory):
    """Two nodes with the store on and one with files."""
    folder = str(tmp_path_factory.mktemp("timeout-nodes-" + series))
    factory = NodeFactory(timeout_database[0], redis_server, folder, series=series)
    made = (factory("a", start=False), factory("b", start=False), factory("files", redis=False, start=False))
    try:
        yield start_together(*made)
    finally:
        factory.stop_all()


def idle_scenario(nodes, seconds=9):
    """Three sessions: one active every second (on the nodes in turn), one
    idle, one calling only the ignored URL. After 7 s (past the 5 s delay)
    the idle and the ignored ones make a normal call each, then every node
    is asked about each session."""
    sids = {name: nodes[0].login() for name in ("active", "idle", "ignored")}
    outcomes = {"active": [], "ignored": []}
    started = time.monotonic()
    for second in range(seconds):
        # one call a second, on a clock: slow calls do not stretch the scenario
        time.sleep(max(0.0, started + second - time.monotonic()))
        outcomes["active"].append(call_kw(requests, nodes[second % len(nodes)].url, sid=sids["active"]))
        if second < 4:
            outcomes["ignored"].append(call_kw(requests, nodes[-1].url, IGNORED, sid=sids["ignored"]))
        if second == 7:
            outcomes["idle"] = call_kw(requests, nodes[0].url, sid=sids["idle"])
            outcomes["ignored after 7 s"] = call_kw(requests, nodes[-1].url, sid=sids["ignored"])
    for name in sids:
        outcomes[name + " then"] = [call_kw(requests, node.url, sid=sids[name]) for node in nodes]
    return sids, outcomes


# What a session sees with files on one node: the active one is never
# logged out; the idle one's first call after the delay finishes (16+'s
# addon returns the expiry instead of raising it) and logs it out; a
# session calling only an ignored URL is idle too.
EXPECTED = {
    "active": ["ok"] * 9,
    "ignored": ["ok"] * 4,
    "idle": "ok",
    "ignored after 7 s": "ok",
}


def test_idle_sessions_are_logged_out_on_every_node_and_active_ones_stay(series, timeout_nodes, redis_client):
    a, b, _files = timeout_nodes
    sids, outcomes = idle_scenario([a, b])
    assert {name: outcomes[name] for name in EXPECTED} == EXPECTED
    assert outcomes["active then"] == ["ok", "ok"]
    assert outcomes["idle then"] == ["expired", "expired"]
    assert outcomes["ignored then"] == ["expired", "expired"]
    # logged out the addon's way: the logout rotated the id, the old keys are gone
    assert redis_client.exists(session_key(sids["idle"]), session_key(sids["ignored"])) == 0
    assert redis_client.exists(session_key(sids["active"])) == 1
    for node in (a, b):
        log = node.log()
        assert "auth_session_timeout: idle time read from Redis" in log
        for trouble in ("NotOfferedByRedisStore", "get_session_filename", "session file", "Traceback"):
            assert trouble not in log, (node.data_dir, trouble)
        assert node.session_files() == []  # no session file was read or touched


def test_with_files_the_addon_behaves_the_same_on_one_node(series, timeout_nodes, redis_client):
    """The control: the outcomes above are the addon's own, with files."""
    files = timeout_nodes[2]
    sids, outcomes = idle_scenario([files])
    assert {name: outcomes[name] for name in EXPECTED} == EXPECTED
    assert outcomes["active then"] == ["ok"]
    assert outcomes["idle then"] == ["expired"] and outcomes["ignored then"] == ["expired"]
    assert redis_client.dbsize() == 0 and sids["active"] in files.session_files()


def test_the_addons_own_tests_pass_with_the_store_on(series, timeout_database):
    log = timeout_database[1]
    assert "odoo.addons.session_redis.activation: web sessions in Redis" in log
    assert "odoo.addons.auth_session_timeout.tests" in log  # they ran
    assert " ERROR " not in log and "FAIL:" not in log, log[-3000:]
