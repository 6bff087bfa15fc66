"""The documentation tells the truth: the README opens with the two commands,
and the settings table of docs/configuration.rst is the code's."""

import os
import re

from session_redis.core.settings import SPECS, conf_name, env_name
from tests.support.servers import REPO


def readme():
    with open(os.path.join(REPO, "README.rst")) as handle:
        return handle.read()


def configuration_page():
    """docs/configuration.rst, where the settings table lives."""
    with open(os.path.join(REPO, "docs", "configuration.rst")) as handle:
        return handle.read()


def table_rows():
    """``{environment name: (odoo.conf name, default)}`` from the settings table
    of docs/configuration.rst."""
    rows = {}
    for line in configuration_page().splitlines():
        match = re.match(r"``(ODOO_SESSION_REDIS\w*)``\s+``(session_redis\w*)``\s+(\S+)", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def test_every_setting_is_in_the_table_with_its_odoo_conf_name():
    rows = table_rows()
    assert sorted(rows) == sorted(env_name(suffix) for _, suffix, _, _ in SPECS)
    for _, suffix, _, _ in SPECS:
        assert rows[env_name(suffix)][0] == conf_name(suffix)


def test_numeric_defaults_in_the_table_are_the_code_defaults():
    rows = table_rows()
    for _, suffix, _, default in SPECS:
        shown = rows[env_name(suffix)][1].strip("`")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            assert float(shown) == default, suffix
        elif isinstance(default, bool):
            assert shown == ("on" if default else "off"), suffix


def test_readme_opens_with_the_two_make_commands():
    blocks = re.findall(r"::\n\n    (.+)\n", readme())
    assert blocks[:2] == ["make run", "make test"]
    with open(os.path.join(REPO, "Makefile")) as handle:
        targets = re.findall(r"^(\w+):", handle.read(), re.M)
    assert "run" in targets and "test" in targets
    with open(os.path.join(REPO, ".ci", "run")) as handle:
        assert "make test" in handle.read()
