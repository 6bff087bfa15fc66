"""Fixtures: a private Redis, an Odoo 11 database, Odoo nodes."""

import collections
import os
import sys
import uuid

import pytest

# The tests choose their own ODOO_SESSION_REDIS_* settings, never the caller's.
for _name in [name for name in os.environ if name.startswith("ODOO_SESSION_REDIS")]:
    del os.environ[_name]

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.servers import OdooNode, RedisServer, drop_database, make_database  # noqa: E402

FIGURES = []


@pytest.fixture
def figure():
    """Record a measured figure; all of them are printed after the run."""
    return FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("figures measured in this run")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(str(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server):
    """A client on the private server, emptied after each test."""
    client = redis_server.client()
    yield client
    client.flushall()


Database = collections.namedtuple("Database", "name filestore")


@pytest.fixture(scope="session")
def odoo_database(tmp_path_factory):
    """One Odoo 11 database (``base`` installed) for the whole run, and
    the filestore its nodes share."""
    name = "session_redis_test_%s" % uuid.uuid4().hex[:8]
    init = str(tmp_path_factory.mktemp("odoo") / "init")
    make_database(name, init)
    yield Database(name, os.path.join(init, "filestore"))
    drop_database(name)


@pytest.fixture
def odoo_nodes(odoo_database, redis_server, tmp_path):
    """Factory of Odoo nodes sharing one filestore; all stopped at the end."""
    started = []

    def make(name="node", env=None, redis=True, start=True):
        settings = {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_server.url} if redis else {}
        settings.update(env or {})
        node = OdooNode(odoo_database.name, str(tmp_path / name), settings, filestore=odoo_database.filestore)
        started.append(node)
        return node.start() if start else node

    yield make
    for node in started:
        node.stop()
    redis_server.client().flushall()
