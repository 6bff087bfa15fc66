"""Odoo's own HTTP tests (``test_http``) on Odoo 18 and 19 with the addon
on: no test may fail but the file-bound ones (tools/odoo-test-http lists
them; it runs them on 16 to 19, with files too, where none fails: ``make
compat``).

The run is checked to have the addon on (its start-up log line); how much
of it reached the store is printed, not asserted: most test_http classes
swap Odoo's session store for an in-memory one, and on 16.0 and 17.0 no
test_http test touches the installed store at all.

Each series costs one run, on a copy of the suite's ``base,web`` database of
that series, installing ``test_http``.
"""

import importlib.machinery
import importlib.util
import os

import pytest

from tests.support.odoo_test_runs import RunFailed, by_addon, parse_log, run_tests
from tests.support.servers import REPO, RedisServer, require_series


def load_tool():
    path = os.path.join(REPO, "tools", "odoo-test-http")
    loader = importlib.machinery.SourceFileLoader("odoo_test_http", path)
    spec = importlib.util.spec_from_loader("odoo_test_http", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


tool = load_tool()

LOG = "\n".join(
    [
        "2026-11-27 17:44:01,100 24689 INFO db odoo.addons.test_http.tests.x: Starting TestMisc.test_a ...",
        "2026-11-27 17:44:01,200 24689 ERROR db odoo.addons.test_http.tests.test_misc: FAIL: TestMisc.test_a",
        "Traceback (most recent call last):",
        "AssertionError: FAIL: not a test name",
        "2026-11-27 17:44:02,300 24689 ERROR db odoo.addons.test_http.tests.x: ERROR: TestSession.test_b",
        "2026-11-27 17:44:02,400 24689 INFO db odoo.addons.test_http.tests.test_misc: FAIL: TestMisc.as_info",
        "2026-11-27 17:44:04,601 24689 ERROR db odoo.tests.result: "
        + "1 failed, 1 error(s) of 150 tests when loading database 'db'",
    ]
)


def test_the_log_parser_reads_odoo_s_summary_and_failing_tests():
    assert parse_log(LOG) == (150, 1, 1, ["TestMisc.test_a", "TestSession.test_b"])
    with pytest.raises(RunFailed):
        parse_log(LOG.rsplit("\n", 1)[0])


def test_the_log_parser_tells_the_addons_apart():
    other = LOG.replace("test_http.tests.x: ERROR", "auth_jwt.tests.x: ERROR").replace(
        "test_http.tests.x: Starting", "auth_jwt.tests.x: Starting"
    )
    assert by_addon(other) == {
        "test_http": (0, ["TestMisc.test_a"]),
        "auth_jwt": (1, ["TestSession.test_b"]),
    }
    # a failure logged outside odoo.addons (a class that failed to set up) counts too
    unowned = "2026-11-27 17:44:03,000 24689 ERROR db odoo.tests.common: ERROR: setUpClass (x.TestY)"
    assert by_addon(LOG + "\n" + unowned)[""] == (0, ["setUpClass (x.TestY)"])
    assert "setUpClass (x.TestY)" in parse_log(LOG + "\n" + unowned)[3]


# On 16 and 17 no test_http test reaches the installed store (see above):
# those two run in make compat only, to keep the suite within its time.
IN_SUITE = ("18.0", "19.0")


@pytest.mark.parametrize("series", IN_SUITE)
def test_no_odoo_http_test_fails_with_redis_sessions_but_the_file_bound_ones(
    series, series_database, tmp_path, figure
):
    require_series(series)
    redis = RedisServer(str(tmp_path / "redis")).start()
    try:
        run = run_tests(series, str(tmp_path), tool.MODULES, redis, template=series_database(series))
    finally:
        redis.stop()
    expected = tool.FILE_BOUND.get(series, {})
    figure(
        "Odoo %s test_http with Redis sessions: %d tests, %d failing (%s), %d session commands in %.0f s"
        % (
            series,
            run.tests,
            run.failed + run.errors,
            ", ".join(run.failing) or "-",
            run.redis_commands,
            run.seconds,
        )
    )
    assert run.tests > 0
    assert set(run.failing) <= set(expected), sorted(set(run.failing) - set(expected))
    # Every failure Odoo counted has a name here: none is overlooked.
    assert (run.failed + run.errors > 0) == bool(run.failing), run
