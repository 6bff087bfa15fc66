"""Run Odoo 11 modules' own tests inside one Odoo process; write the counts as JSON.

Used by ``tools/compat`` (``make compat``), once with filesystem sessions and
once with this addon's Redis sessions. Odoo is started as ``--test-enable``
would start it: server-wide modules loaded (session_redis among them, so the
tests' sessions go wherever the addon puts them), the HTTP server up for
``HttpCase``; then every at-install and post-install test of each module runs
against the already installed database. PhantomJS tests skip themselves.

Usage: ``python tools/compat_runner.py OUTPUT.json MODULE,... -- ODOO_OPTIONS...``
"""

import json
import sys
import threading
import unittest

import odoo
from odoo.modules import module as odoo_module


def module_tests(name):
    """The module's tests that Odoo runs at install or after install."""
    tests = []
    for test_module in odoo_module.get_test_modules(name):
        for test in odoo_module.unwrap_suite(unittest.TestLoader().loadTestsFromModule(test_module)):
            if odoo_module.runs_at_install(test) or odoo_module.runs_post_install(test):
                tests.append(test)
    return tests


def run_module(name, stream):
    odoo_module.current_test = name
    threading.current_thread().testing = True
    try:
        result = unittest.TextTestRunner(verbosity=2, stream=stream).run(
            unittest.TestSuite(module_tests(name))
        )
    finally:
        odoo_module.current_test = None
        threading.current_thread().testing = False
    failed = [str(test) for test, _trace in result.failures + result.errors]
    return {"run": result.testsRun, "skipped": len(result.skipped), "failed": sorted(failed)}


def main(argv):
    output, modules, separator = argv[0], argv[1].split(","), argv[2]
    assert separator == "--", __doc__
    odoo.tools.config.parse_config(argv[3:] + ["--test-enable"])
    odoo.service.server.load_server_wide_modules()
    server = odoo.service.server.ThreadedServer(odoo.service.wsgi_server.application)
    server.http_spawn()
    odoo.registry(odoo.tools.config["db_name"])
    results = {}
    with open(output + ".log", "w") as stream, odoo.api.Environment.manage():
        for name in modules:
            results[name] = run_module(name, stream)
    with open(output, "w") as handle:
        json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
