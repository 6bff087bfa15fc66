"""Fixtures: a private Redis, an Odoo 11 database, Odoo nodes, and databases
and nodes of the newer Odoo series (``series_database``, ``series_nodes``)."""

import collections
import os
import sys
import uuid

import pytest

# The tests choose their own ODOO_SESSION_REDIS_* settings, never the caller's.
for _name in [name for name in os.environ if name.startswith("ODOO_SESSION_REDIS")]:
    del os.environ[_name]

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.support.apps import make_apps_database  # noqa: E402
from tests.support.chrome import start_chromium  # noqa: E402
from tests.support.series_apps import make_series_apps_database  # noqa: E402
from tests.support.servers import (  # noqa: E402
    Database,
    NodeFactory,
    RedisServer,
    copy_of,
    drop_database,
    make_database,
    require_series,
)

FIGURES = []
SECONDS_PER_FILE = collections.Counter()
# Under xdist: the seconds of each group (a series, or a file) and of each worker,
# which show where the run's long pole is.
SECONDS_PER_GROUP = collections.Counter()
SECONDS_PER_WORKER = collections.Counter()


@pytest.fixture
def figure(request):
    """Record a measured figure; all of them are printed after the run (a
    test's properties reach the main process from xdist's workers too)."""
    return lambda line: request.node.user_properties.append(("figure", line))


def pytest_runtest_logreport(report):
    SECONDS_PER_FILE[report.nodeid.split("::")[0]] += report.duration
    if "@" in report.nodeid:
        SECONDS_PER_GROUP[report.nodeid.rsplit("@", 1)[1]] += report.duration
    worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", None)
    if worker:
        SECONDS_PER_WORKER[worker] += report.duration
    if report.when == "teardown":
        FIGURES.extend(value for name, value in report.user_properties if name == "figure")


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("figures measured in this run")
        for line in FIGURES:
            terminalreporter.write_line(line)
    if SECONDS_PER_FILE:
        terminalreporter.section("time per test file (setup, call and teardown, summed)")
        for name, seconds in SECONDS_PER_FILE.most_common():
            terminalreporter.write_line("%8.1f s  %s" % (seconds, name))
        terminalreporter.write_line("%8.1f s  in all" % sum(SECONDS_PER_FILE.values()))
    for title, seconds_per in (("group", SECONDS_PER_GROUP), ("worker", SECONDS_PER_WORKER)):
        if seconds_per:
            terminalreporter.section("time per xdist %s" % title)
            for name, seconds in seconds_per.most_common():
                terminalreporter.write_line("%8.1f s  %s" % (seconds, name))


# --- running side by side (pytest-xdist, --dist loadgroup) ---

SERIES_NAMES = ("11.0", "16.0", "17.0", "18.0", "19.0")
# Fixtures that build Odoo 11's databases and nodes.
ODOO11_FIXTURES = frozenset(
    ["odoo_database", "odoo_nodes", "prefork_nodes", "apps_template", "apps_database"]
)


def item_series(item):
    """The Odoo series a test runs: a parameter naming it, else Odoo 11's
    fixtures, else its module's ``SERIES``; None for a test of the store
    alone."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    for value in params.values():
        for candidate in value if isinstance(value, (tuple, list)) else (value,):
            if candidate in SERIES_NAMES:
                return candidate
    if ODOO11_FIXTURES & set(item.fixturenames):
        return "11.0"
    series = getattr(item.module, "SERIES", None)
    return series if series in SERIES_NAMES else None


# Fixtures that start Odoo or a browser: what a run of the store's tests alone leaves out.
ODOO_FIXTURES = ODOO11_FIXTURES | frozenset(
    ["series_database", "series_nodes", "series_apps_database", "nodes", "browser"]
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under xdist, the tests of one Odoo series stay on one worker, which
    builds that series' databases once (each worker has its own private
    Redis, databases and ports); the other tests of a file stay together,
    with the fixtures they share. With ``TEST_STORE_ONLY=1`` only the tests
    that start no Odoo run (tests/deployment/test_redis_servers.py, on each server).

    First of the hooks: xdist's worker reads the groups in its own
    ``pytest_collection_modifyitems``, and the worker registers that hook
    after this file, so without ``tryfirst`` it runs first and sees none."""
    if os.environ.get("TEST_STORE_ONLY"):
        kept = [item for item in items if not (item_series(item) or ODOO_FIXTURES & set(item.fixturenames))]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    for item in items:
        group = item_series(item) or item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


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


@pytest.fixture(scope="session")
def odoo_database(tmp_path_factory):
    """One Odoo 11 database (``base`` installed) for the whole run, and
    the filestore its nodes share."""
    require_series("11.0")
    name = "session_redis_test_%s" % uuid.uuid4().hex[:8]
    init = str(tmp_path_factory.mktemp("odoo") / "init")
    make_database(name, init)
    yield Database(name, os.path.join(init, "filestore"))
    drop_database(name)


@pytest.fixture(scope="session")
def series_database(tmp_path_factory):
    """``series_database("18.0")``: a database of that series with
    ``base,web`` installed, built at the first call and shared by the rest
    of the run (with the filestore of its nodes). Skips the test when the
    series is not installed."""
    made = {}

    def get(series):
        require_series(series)
        if series not in made:
            name = "session_redis_test_%s_%s" % (series.replace(".", ""), uuid.uuid4().hex[:8])
            init = str(tmp_path_factory.mktemp("odoo-" + series) / "init")
            try:
                make_database(name, init, series=series, modules="base,web")
            except Exception as error:
                made[series] = error  # one attempt per run: the next tests fail at once
                raise
            made[series] = Database(name, os.path.join(init, "filestore"))
        if isinstance(made[series], Exception):
            raise made[series]
        return made[series]

    yield get
    for database in made.values():
        if isinstance(database, Database):
            drop_database(database.name)


@pytest.fixture(scope="session")
def series_apps_database(series_database, tmp_path_factory):
    """``series_apps_database("18.0")``: that series' apps database
    (tests/support/series_apps.py), made at its first call and shared by the rest
    of the run. Skips the test when the series is not installed."""
    made = {}

    def get(series):
        if series not in made:
            base = copy_of(series_database(series))
            made[series] = base  # dropped at the end, whatever happens next
            try:
                made[series] = make_series_apps_database(
                    series, base, str(tmp_path_factory.mktemp("apps-" + series))
                )
            except Exception as error:
                made[series] = (base, error)  # one attempt per run: the next tests fail at once
                raise
        if isinstance(made[series], tuple):
            raise made[series][1]
        return made[series]

    yield get
    for database in made.values():
        drop_database(database[0].name if isinstance(database, tuple) else database.name)


@pytest.fixture(scope="session")
def apps_template(tmp_path_factory):
    """A database with the apps sites run (tests/support/apps.py), built once per
    run; tests use copies of it (``apps_database``)."""
    require_series("11.0")
    name = "session_redis_apps_%s" % uuid.uuid4().hex[:8]
    init = str(tmp_path_factory.mktemp("apps") / "init")
    make_apps_database(name, init)
    yield Database(name, os.path.join(init, "filestore"))
    drop_database(name)


@pytest.fixture
def apps_database(apps_template):
    """A fresh copy of the apps template for one test."""
    database = copy_of(apps_template)
    yield database
    drop_database(database.name)


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


@pytest.fixture
def series_nodes(series_database, redis_server, tmp_path):
    """``series_nodes("18.0")``: a factory of threaded nodes (as
    ``odoo_nodes``) on that series' ``base,web`` database; every node is
    stopped at the end. Skips the test when the series is not installed."""
    factories = []

    def factory(series, workers=0):
        made = NodeFactory(
            series_database(series), redis_server, str(tmp_path / series), workers=workers, series=series
        )
        factories.append(made)
        return made

    yield factory
    for made in factories:
        made.stop_all()


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium from the system with the system's chromedriver."""
    driver = start_chromium(tmp_path / "chromium-profile")
    yield driver
    driver.quit()


@pytest.fixture(params=["11.0", "18.0"])
def nodes(request):
    """A factory of threaded nodes of Odoo 11 or of a newer series (``odoo_nodes``
    or ``series_nodes(series)``): by default the two glues' series, 11 and
    18; a module widens it with ``pytest.mark.parametrize("nodes", [...],
    indirect=True)``. Only the chosen series' database is built."""
    if request.param == "11.0":
        return request.getfixturevalue("odoo_nodes")
    return request.getfixturevalue("series_nodes")(request.param)
