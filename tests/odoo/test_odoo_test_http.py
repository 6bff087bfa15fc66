"""Odoo's own HTTP tests (``test_http``) on each newer series, with the addon
off and then on (tools/odoo-test-http): no test may fail only with Redis
sessions, and both runs must run the same tests.

The run with the addon on is checked to have it on (its start-up log
line); how much of it reached the store is printed, not asserted: most
test_http classes swap Odoo's session store for an in-memory one, and on
16.0 and 17.0 no test_http test touches the installed store at all.

Each series costs two runs (each on a copy of the suite's ``base,web``
database of that series, installing ``test_http``), side by side on the 2
cores.
"""

import importlib.machinery
import importlib.util
import os

import pytest

from tests.support.servers import REPO, SERIES, require_series


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
        "2026-11-27 17:44:01,100 24689 INFO db odoo.addons.test_http.tests.x: Starting TestMisc.test_a",
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
    assert tool.parse_log(LOG) == (150, 1, 1, ["TestMisc.test_a", "TestSession.test_b"])
    with pytest.raises(tool.RunFailed):
        tool.parse_log(LOG.rsplit("\n", 1)[0])


@pytest.mark.parametrize("series", SERIES)
def test_no_odoo_http_test_fails_only_with_redis_sessions(series, series_database, tmp_path, figure):
    require_series(series)
    comparison = tool.compare(series, str(tmp_path), template=series_database(series))
    figure("Odoo's test_http, addon off then on:\n" + tool.table([comparison]))
    off, on = comparison.off, comparison.on

    for line in tool.file_bound(comparison):
        figure("Odoo %s test_http, file-bound (fails with any store without files): %s" % (series, line))

    assert off.tests == on.tests > 0
    assert not tool.only_with_redis(comparison), tool.only_with_redis(comparison)
    # Every failure Odoo counted has a name here: the comparison sees them all.
    for run in (off, on):
        assert (run.failed + run.errors > 0) == bool(run.failing), run
