"""The Redis servers operators run, besides Debian's Redis 7.0 that every
other test uses: Redis 6.0 and 6.2, Valkey 8.1 and 9.1, real server
processes from PyPI (tools/bootstrap-redis-servers, which ``make test``
runs, puts them in .tools/redis-servers/).

On each: the store's own tests (every test that starts no Odoo, run again
with that server as the private Redis: ``TEST_REDIS_SERVER``), and two Odoo
nodes of 11 and of 18 sharing a login and its logout. Redis 6 has no
``EXPIRE NX/GT``: there the store's fallback runs for real.
"""

import os
import re
import subprocess
import sys

import pytest

from tests.support.servers import REPO, NodeFactory, RedisServer

SERVERS_FOLDER = os.path.join(REPO, ".tools", "redis-servers")
SERVERS = ("redis-6.0", "redis-6.2", "valkey-8.1", "valkey-9.1")
# The store's tests: those of these files that start no Odoo (TEST_STORE_ONLY).
STORE_TESTS = [
    "tests/store/test_store.py",
    "tests/store/test_user_index.py",
    "tests/odoo/test_devices.py",
    "tests/store/test_hashed_ids.py",
    "tests/odoo/test_ended_stays_ended.py",
    "tests/store/test_migration.py",
    "tests/odoo/test_misconfigured_redis.py",
    "tests/store/test_client.py",
]


def server_binary(name):
    binary = os.path.join(SERVERS_FOLDER, name)
    assert os.access(binary, os.X_OK), "%s is not installed: run tools/bootstrap-redis-servers" % name
    return binary


def version_of(binary):
    """``Redis 6.0.9`` or ``Valkey 9.1.2``, as the server says."""
    said = subprocess.run([binary, "--version"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    return re.match(r"(\w+) server v=([\d.]+)", said).expand(r"\1 \2")


@pytest.mark.parametrize("name", SERVERS)
def test_the_stores_tests_pass_on(name, figure):
    binary = server_binary(name)
    env = dict(os.environ, TEST_REDIS_SERVER=binary, TEST_STORE_ONLY="1")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"] + STORE_TESTS,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:]
    summary = re.findall(r"^=* ?(\d+ passed.*?) ?=*$", run.stdout, re.M)[-1]
    assert "failed" not in summary and "error" not in summary
    figure("%s (%s): the store's tests: %s" % (name, version_of(binary), summary))


@pytest.fixture
def server(request, tmp_path):
    started = RedisServer(str(tmp_path / "redis"), binary=server_binary(request.param)).start()
    yield started
    started.stop()


@pytest.mark.parametrize("server", SERVERS, indirect=True)
@pytest.mark.parametrize("series", ["11.0", "18.0"])
def test_two_nodes_share_a_login_and_its_logout_on(server, series, request, tmp_path):
    database = request.getfixturevalue("odoo_database" if series == "11.0" else "series_database")
    if series != "11.0":
        database = database(series)
    factory = NodeFactory(database, server, str(tmp_path / "nodes"), series=series)
    try:
        a, b = factory("a"), factory("b")
        sid = a.login()
        assert b.session_info(sid)["uid"] and server.client().dbsize() > 0
        logout = b.json("/web/session/destroy", session_id=sid)
        assert logout.status_code == 200
        assert a.session_info(sid) is None and b.session_info(sid) is None
        assert "cannot tell whether Redis evicts" not in a.log()  # INFO memory answered
    finally:
        factory.stop_all()
