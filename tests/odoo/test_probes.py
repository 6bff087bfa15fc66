"""The health probe and the metrics page, on real Odoo nodes: no session,
no cookie, no Redis write; 503 when Redis is down or hangs, 200 again when
it is back; metrics off by default, then behind a token or loopback only,
counting what the store did, summed over prefork workers, for no Redis
command."""

import os
import re
import shutil
import signal
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from session_redis.core import metrics
from session_redis.core.probes import TARGET, bearer_matches, sent_as_spelled, sent_from_loopback
from tests.support.lb import Balancer
from tests.support.probing import (
    HEALTH,
    METRICS,
    OTHER_SPELLINGS,
    TIMEOUT,
    assert_only_the_paths_as_spelled_answer,
    changes,
    command_calls,
    commands_since,
    count,
    get,
    raw_get,
    scrape,
)
from tests.support.servers import OdooNode, RedisServer, wait_until


def start_node(odoo_database, data_dir, env, extra_args=()):
    node = OdooNode(
        odoo_database.name, data_dir, env, filestore=odoo_database.filestore, extra_args=extra_args
    )
    return node.start()


# --- the rules, without Odoo ------------------------------------------------


@pytest.mark.parametrize(
    "environ, local",
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, True),
        ({"REMOTE_ADDR": "127.0.0.2"}, True),
        ({"REMOTE_ADDR": "::1"}, True),
        ({"REMOTE_ADDR": "::ffff:127.0.0.1"}, True),
        ({"REMOTE_ADDR": "10.0.0.7"}, False),
        ({"REMOTE_ADDR": "::ffff:10.0.0.7"}, False),
        ({"REMOTE_ADDR": ""}, False),
        ({}, False),
        # through a proxy on this machine, whatever address it names
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, False),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}, False),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "127.0.0.1"}, False),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=127.0.0.1"}, False),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_HOST": "odoo.example"}, False),
    ],
)
def test_loopback_rule(environ, local):
    assert sent_from_loopback(environ) is local


def test_bearer_token_rule():
    assert bearer_matches("Bearer s3cret", "s3cret")
    assert bearer_matches("bearer  s3cret ", "s3cret")
    assert not bearer_matches("Bearer s3cre", "s3cret")
    assert not bearer_matches("Bearer s3cret-and-more", "s3cret")
    assert not bearer_matches("Basic s3cret", "s3cret")
    assert not bearer_matches("s3cret", "s3cret")
    assert not bearer_matches("", "s3cret")
    assert not bearer_matches("Bearer é", "s3cret")


@pytest.mark.parametrize(
    "target, answered",
    [
        ("/session_redis/metrics", True),
        ("/session_redis/metrics?name[]=x", True),
        ("http://odoo.example:8069/session_redis/metrics", True),  # absolute form, HTTP/1.1
        ("//session_redis/metrics", False),
        ("/session_redis/%6detrics", False),
        ("/%73ession_redis/metrics", False),
        ("/session_redis%2Fmetrics", False),
        ("http://odoo.example//session_redis/metrics", False),
        (None, True),  # a server that keeps no target: PATH_INFO is all there is
    ],
)
def test_only_the_path_as_spelled_is_a_probe(target, answered):
    environ = {"PATH_INFO": METRICS} if target is None else {"PATH_INFO": METRICS, "REQUEST_URI": target}
    assert sent_as_spelled(environ, METRICS) is answered
    if target is not None:
        assert sent_as_spelled({"PATH_INFO": METRICS, "RAW_URI": target}, METRICS) is answered
        # the request line's target, which the glue records, wins: Python's
        # HTTP server has already turned a leading // into / in REQUEST_URI
        normalized = {"PATH_INFO": METRICS, "REQUEST_URI": METRICS, TARGET: target}
        assert sent_as_spelled(normalized, METRICS) is answered


def test_each_server_run_counts_in_a_new_folder_and_crashed_runs_are_swept(tmp_path):
    base = str(tmp_path / "metrics")
    first = metrics.files_of_this_run(base)
    assert os.listdir(first) == []
    with open(os.path.join(first, "counter_1.db"), "wb") as handle:
        handle.write(b"old counts")
    host = os.path.basename(first).rsplit("-", 2)[0]
    gone = os.path.join(base, "%s-%d-x" % (host, _pid_of_a_finished_process()))
    alive = os.path.join(base, "%s-%d-x" % (host, os.getppid()))  # another server run on this host
    elsewhere = os.path.join(base, "other-host-%d-x" % _pid_of_a_finished_process())
    for folder in (gone, alive, elsewhere):
        os.makedirs(folder)

    second = metrics.files_of_this_run(base)

    assert os.listdir(second) == [] and second != first
    # Our own pid in an older folder: a run before a restart (pid 1 in a container).
    assert not os.path.exists(first) and not os.path.exists(gone)
    assert os.path.exists(alive) and os.path.exists(elsewhere)
    # The folder goes when its maker exits, not when a forked worker does.
    pid = os.fork()
    if pid == 0:
        metrics._remove_if_mine(second, os.getppid())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.path.isdir(second)
    metrics._remove_if_mine(second, os.getpid())
    assert not os.path.exists(second)


def test_the_longpolling_process_joins_its_parents_folder(tmp_path):
    base = str(tmp_path / "metrics")
    environ = {}
    made = metrics.folder_for(base, longpolling=False, environ=environ)
    environ[metrics.FOLDER_VARIABLE] = made
    assert metrics.folder_for(base, longpolling=True, environ=environ) == made
    assert os.listdir(base) == [os.path.basename(made)]
    # A main process never trusts an inherited folder: it may hold old counts.
    assert metrics.folder_for(base, longpolling=False, environ=environ) != made


def _pid_of_a_finished_process():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# --- on a node --------------------------------------------------------------


@pytest.fixture(scope="module")
def metrics_node(odoo_database, redis_server, tmp_path_factory):
    """A threaded node with metrics on and no token, behind --proxy-mode
    (which takes the client's address from X-Forwarded-For)."""
    env = {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_URL": redis_server.url,
        "ODOO_SESSION_REDIS_METRICS": "1",
        "ODOO_SESSION_REDIS_MAX_SIZE": "1024",
    }
    node = start_node(odoo_database, str(tmp_path_factory.mktemp("metrics_node")), env, ["--proxy-mode"])
    yield node
    node.stop()


def test_health_creates_no_session_sets_no_cookie_and_writes_nothing(metrics_node, redis_client, figure):
    get(metrics_node, HEALTH)  # Odoo loads its addons on its first request
    before = command_calls(redis_client)
    round_trips = []
    for _ in range(20):
        response = get(metrics_node, HEALTH)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        body = response.json()
        assert (body["status"], body["sessions"], body["redis"]) == ("ok", "redis", "reachable")
        round_trips.append(body["round_trip_ms"])
    # a PING and the write probe (SET ... XX of a key that never exists); the
    # probe's INFO memory is left out of the count with the test's own INFO
    assert commands_since(redis_client, before) == {"ping": 20, "set": 20}
    assert redis_client.dbsize() == 0
    assert metrics_node.session_files() == []
    figure("health probe, Redis round trip reported (median of 20): %.3f ms" % statistics.median(round_trips))


def test_metrics_count_what_the_store_did_and_cost_no_redis_command(metrics_node, redis_client):
    node = metrics_node
    sid = node.login()
    before = scrape(node)

    for _ in range(10):
        assert node.session_info(sid)["uid"]
    after = scrape(node)
    assert changes(before, after) == {
        "loads_total/hit": 10,
        "saves_total/unchanged": 10,
        "redis_seconds_count/load": 10,
    }

    unknown, before = "ab" * 20, after
    for _ in range(3):
        assert node.json("/web/webclient/version_info", session_id=unknown).status_code == 200
    for _ in range(2):
        assert node.json("/web/webclient/version_info", session_id="not-an-id").status_code == 200
    after = scrape(node)
    assert changes(before, after) == {
        "loads_total/miss": 3,
        "loads_total/refused": 2,
        "saves_total/unchanged": 5,  # nothing but Odoo's defaults: never written
        "redis_seconds_count/load": 3,
    }

    oversized, before = "cd" * 20, after
    redis_client.set("session:" + oversized, b'{"x": "%s"}' % (b"y" * 2000))
    assert node.json("/web/webclient/version_info", session_id=oversized).status_code == 200
    assert node.json("/web/session/destroy", session_id=sid).status_code == 200
    after = scrape(node)
    assert changes(before, after) == {
        "oversize_total": 1,
        "loads_total/refused": 1,
        "loads_total/hit": 1,  # the logout's own request
        "saves_total/unchanged": 2,  # two fresh sessions holding only Odoo's defaults
        "deletes_total": 1,
        "redis_seconds_count/load": 2,
        "redis_seconds_count/delete": 1,
    }
    assert not redis_client.exists("session:" + sid)

    # Collecting reads the workers' files: not one Redis command.
    commands = command_calls(redis_client)
    for _ in range(5):
        assert scrape(node) == after
    assert commands_since(redis_client, commands) == {}


def test_without_a_token_only_direct_loopback_requests_get_metrics(metrics_node):
    assert get(metrics_node, METRICS).status_code == 200
    # --proxy-mode would take 127.0.0.1 from the header: a forged local client.
    forged = {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "odoo.example"}
    for headers in (forged, {"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "127.0.0.1"}):
        response = get(metrics_node, METRICS, headers=headers)
        assert response.status_code == 403, headers
        assert "session_redis_" not in response.text
    # a token given when none is set changes nothing
    assert get(metrics_node, METRICS, headers={"Authorization": "Bearer x"}).status_code == 200


@pytest.mark.skipif(not shutil.which("nginx"), reason="needs nginx")
def test_behind_the_example_nginx_health_answers_and_metrics_stay_private(metrics_node, tmp_path):
    balancer = Balancer(str(tmp_path / "nginx"), [metrics_node.port]).start()
    try:
        health = requests.get(balancer.url + HEALTH, timeout=TIMEOUT)
        assert health.status_code == 200 and health.json()["redis"] == "reachable"
        assert requests.get(balancer.url + METRICS, timeout=TIMEOUT).status_code == 404
        for target in OTHER_SPELLINGS[:4]:  # nginx matches its rule on the normalized path
            status, body = raw_get(balancer.port, target)
            assert status == 404 and "session_redis_" not in body, target
    finally:
        balancer.stop()


def test_health_503_while_redis_is_down_or_hangs_then_200_again(odoo_database, tmp_path, figure):
    redis = RedisServer(str(tmp_path / "redis")).start()
    token = "scrape-%s" % os.urandom(8).hex()
    env = {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_URL": redis.url,
        "ODOO_SESSION_REDIS_SOCKET_TIMEOUT": "1",
        "ODOO_SESSION_REDIS_METRICS": "1",
        "ODOO_SESSION_REDIS_METRICS_TOKEN": token,
    }
    node = start_node(odoo_database, str(tmp_path / "node"), env)
    auth = {"Authorization": "Bearer " + token}
    try:
        # the token: right, wrong, missing (loopback is no excuse once a token is set)
        assert get(node, METRICS, headers={"Authorization": "Bearer wrong"}).status_code == 401
        missing = get(node, METRICS)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
        before = scrape(node, headers=auth)
        assert get(node, HEALTH).status_code == 200
        sid = node.login()

        redis.stop()
        started = time.monotonic()
        down = get(node, HEALTH)
        figure(
            "health probe with Redis stopped: %d in %.2f s" % (down.status_code, time.monotonic() - started)
        )
        assert down.status_code == 503 and "Set-Cookie" not in down.headers
        assert down.json() == {"status": "unavailable", "sessions": "redis", "redis": "unreachable"}
        assert node.json("/web/session/get_session_info", session_id=sid).status_code == 503
        # the metrics need no Redis: they still answer, and count that 503
        during = scrape(node, headers=auth)
        assert count(during, "unavailable_total") - count(before, "unavailable_total") == 1

        redis = RedisServer(redis.folder, port=redis.port).start()
        wait_until(lambda: get(node, HEALTH).status_code == 200, 10, "health 200 after Redis came back")

        redis.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            hung = get(node, HEALTH)
            elapsed = time.monotonic() - started
        finally:
            redis.process.send_signal(signal.SIGCONT)
        figure(
            "health probe with Redis hung (SIGSTOP), SOCKET_TIMEOUT=1: %d in %.2f s"
            % (hung.status_code, elapsed)
        )
        assert hung.status_code == 503
        wait_until(lambda: get(node, HEALTH).status_code == 200, 10, "health 200 after Redis resumed")
        assert token not in node.log()
    finally:
        node.stop()
        redis.stop()


def test_prefork_metrics_are_summed_over_the_workers(odoo_database, redis_server, redis_client, tmp_path):
    env = {
        "ODOO_SESSION_REDIS": "1",
        "ODOO_SESSION_REDIS_URL": redis_server.url,
        "ODOO_SESSION_REDIS_METRICS": "1",
    }
    node = start_node(odoo_database, str(tmp_path / "prefork"), env, ["--workers=2", "--limit-time-real=600"])
    try:
        assert get(node, HEALTH).json()["redis"] == "reachable"
        sid = node.login()
        before = scrape(node)
        requests_sent = 40
        with ThreadPoolExecutor(4) as pool:  # a worker serves one request at a time
            infos = list(pool.map(lambda _: node.session_info(sid), range(requests_sent)))
        assert all(info["uid"] for info in infos)
        after = scrape(node)
        assert count(after, "loads_total", outcome="hit") - count(before, "loads_total", outcome="hit") == 40
        served_by = set(re.findall(r"^\S+ \S+ (\d+) INFO .*get_session_info", node.log(), re.M))
        assert len(served_by) >= 2, served_by
        (run,) = os.listdir(metrics_base(node))
    finally:
        node.stop()
    # The main process removes its run's folder when it stops, not a worker.
    assert os.listdir(metrics_base(node)) == [], run


def test_only_the_paths_as_spelled_answer_on_every_server_of_a_node(odoo_nodes):
    node = odoo_nodes("prefork", env={"ODOO_SESSION_REDIS_METRICS": "1"}, workers=2)
    assert_only_the_paths_as_spelled_answer(node)


def metrics_base(node):
    return os.path.join(node.data_dir, "session_redis_metrics")


def test_metrics_are_off_by_default(odoo_nodes):
    node = odoo_nodes("default")
    response = get(node, METRICS)
    assert response.status_code == 404 and "Set-Cookie" not in response.headers
    assert get(node, HEALTH).json()["redis"] == "reachable"
    assert not os.path.exists(metrics_base(node))


def test_with_sessions_in_files_health_says_so_and_there_are_no_metrics(odoo_nodes):
    node = odoo_nodes("files", env={"ODOO_SESSION_REDIS_METRICS": "1"}, redis=False)
    files = node.session_files()  # the start-up check's session
    response = get(node, HEALTH)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert response.json() == {"status": "ok", "sessions": "files"}
    assert get(node, METRICS).status_code == 404
    assert node.session_files() == files
