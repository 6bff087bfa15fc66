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

from tests.apps import copy_database, make_apps_database  # noqa: E402
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


@pytest.fixture(scope="session")
def apps_template(tmp_path_factory):
    """A database with the apps sites run (tests/apps.py), built once per
    run; tests use copies of it (``apps_database``)."""
    name = "session_redis_apps_%s" % uuid.uuid4().hex[:8]
    init = str(tmp_path_factory.mktemp("apps") / "init")
    make_apps_database(name, init)
    yield Database(name, os.path.join(init, "filestore"))
    drop_database(name)


def copy_of(template):
    name = "%s_copy_%s" % (template.name, uuid.uuid4().hex[:6])
    copy_database(template.name, name, template.filestore)
    return Database(name, template.filestore)


@pytest.fixture
def apps_database(apps_template):
    """A fresh copy of the apps template for one test."""
    database = copy_of(apps_template)
    yield database
    drop_database(database.name)


class NodeFactory(object):
    """Makes Odoo nodes on one database sharing one filestore, with the
    addon on (the private Redis) or off; ``stop_all`` stops them."""

    def __init__(self, database, redis_server, folder, workers=0):
        self.database = database
        self.redis_server = redis_server
        self.folder = folder
        self.workers = workers
        self.started = []

    def __call__(self, name="node", env=None, redis=True, start=True, workers=None, extra_args=()):
        settings = (
            {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": self.redis_server.url} if redis else {}
        )
        settings.update(env or {})
        node = OdooNode(
            self.database.name,
            os.path.join(self.folder, name),
            settings,
            filestore=self.database.filestore,
            extra_args=extra_args,
            workers=self.workers if workers is None else workers,
        )
        self.started.append(node)
        return node.start() if start else node

    def stop_all(self):
        for node in self.started:
            node.stop()
        self.redis_server.client().flushall()


@pytest.fixture
def odoo_nodes(odoo_database, redis_server, tmp_path):
    """Factory of threaded Odoo nodes on the ``base`` database; all stopped
    at the end."""
    factory = NodeFactory(odoo_database, redis_server, str(tmp_path))
    yield factory
    factory.stop_all()


@pytest.fixture
def prefork_nodes(apps_database, redis_server, tmp_path):
    """Factory of prefork nodes (2 workers and the longpolling process), as
    production runs them, on a fresh copy of the apps database."""
    factory = NodeFactory(apps_database, redis_server, str(tmp_path), workers=2)
    yield factory
    factory.stop_all()
