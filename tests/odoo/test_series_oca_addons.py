"""OCA addons that touch sessions, with the store on Odoo 18: their wheels
from PyPI (requirements-oca16plus.txt), their own tests run at install with
files and with Redis, and what each does to a session checked over two
nodes. (auth_session_timeout has a file of its own, on every series.)

- ``web_session_auto_close`` (no Python tests of its own): the web client asks ``/web/session/get_timeout``
  and, once the user was idle that long, calls ``/web/session/destroy``;
  the destroy on one node must end the session on the other.
- ``auth_api_key``: it authenticates each request of a route declared
  ``auth="api_key"`` by its key and keeps no session; it has no such route
  of its own to call, so only its own tests run here.
"""

import re

import pytest

from tests.support.servers import NodeFactory, copy_of, drop_database, free_port, start_together

SERIES = "18.0"  # the Odoo tests' series, for the grouping under xdist (conftest)
ADDONS = ("auth_api_key", "web_session_auto_close")


def install(series_database, redis_server, folder, redis):
    """A copy of the 18.0 database with the addons installed and their own
    tests run, the store on or off; ``(database, install log)``."""
    database = copy_of(series_database(SERIES))
    node = NodeFactory(database, redis_server, folder, series=SERIES)("install", redis=redis, start=False)
    tags = ",".join("/" + addon for addon in ADDONS)
    done = node.run(
        "-i",
        ",".join(ADDONS),
        "--test-enable",
        "--test-tags",
        tags,
        "--stop-after-init",
        "--http-port=%d" % free_port(),
        timeout=600,
    )
    return database, done


@pytest.fixture(scope="module")
def installed(series_database, redis_server, tmp_path_factory):
    """``{"redis": (database, result), "files": (database, result)}``."""
    made = {}
    try:
        for mode in ("redis", "files"):
            folder = str(tmp_path_factory.mktemp("oca-" + mode))
            made[mode] = install(series_database, redis_server, folder, redis=mode == "redis")
        yield made
    finally:
        for database, _result in made.values():
            drop_database(database.name)


def outcomes(log):
    """``{addon: "N failures, M errors of K tests"}``, or "passed" when Odoo
    logged no summary line for it (it logs one only when something failed)."""
    found = {addon: "passed" for addon in ADDONS}
    for addon, summary in re.findall(r"Module (\w+): (\d+ failures, \d+ errors of \d+ tests)", log):
        if addon in found:
            found[addon] = summary
    return found


def test_their_own_tests_give_the_same_outcome_with_files_and_redis(installed, figure):
    logs = {mode: result.stdout for mode, (_database, result) in installed.items()}
    # web_session_auto_close has no Python tests
    assert all("odoo.addons.auth_api_key.tests" in log for log in logs.values())  # they ran
    assert "odoo.addons.session_redis.activation: web sessions in Redis" in logs["redis"]
    assert "web sessions in Redis" not in logs["files"]
    assert outcomes(logs["redis"]) == outcomes(logs["files"])
    figure("OCA addons' own tests on Odoo 18, files and Redis alike: %s" % outcomes(logs["redis"]))


@pytest.fixture
def two_nodes(installed, redis_server, tmp_path):
    factory = NodeFactory(installed["redis"][0], redis_server, str(tmp_path), series=SERIES)
    try:
        yield start_together(factory("a", start=False), factory("b", start=False))
    finally:
        factory.stop_all()


def test_auto_close_destroys_the_session_on_every_node(two_nodes, redis_client):
    a, b = two_nodes
    sid = a.login()
    timeout = b.json("/web/session/get_timeout", session_id=sid).json()
    assert timeout.get("result") == 600000, timeout  # the addon's default (ms), read on the other node
    assert b.json("/web/session/destroy", session_id=sid).status_code == 200
    assert a.session_info(sid) is None and b.session_info(sid) is None
