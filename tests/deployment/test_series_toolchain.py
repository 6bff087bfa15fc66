"""Smoke test of the newer Odoo series' toolchain (tools/bootstrap-series):
each ``.venv-<series>`` runs Odoo with this repository on its addons path and
the addon on the server-wide list but off, logs admin in and keeps the
session in Odoo's own files."""

import os

import pytest
import requests

from tests.support.servers import SERIES


@pytest.mark.parametrize("series", SERIES)
def test_login_with_the_addon_loaded_and_off_keeps_sessions_in_files(series, series_nodes):
    node = series_nodes(series)(redis=False)
    assert node.session_files() == []

    sid = node.login()
    assert node.session_info(sid)["uid"] == 2
    assert os.path.isfile(os.path.join(node.session_folder, sid[:2], sid))
    assert node.session_files() == [sid]

    log = node.log()
    # Odoo carries on without a server-wide module that fails to load.
    assert "Failed to load server-wide module" not in log
    assert not [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line], log


@pytest.mark.parametrize("series", SERIES)
def test_prefork_node_serves_the_session_from_its_gevent_process(series, series_nodes):
    # The gevent (websocket) process imports gevent's plugins through
    # pkg_resources: with an old setuptools in the virtualenv it died at
    # start, in a loop, and the node never answered on that port.
    node = series_nodes(series, workers=2)(redis=False)
    sid = node.login()
    response = requests.post(
        node.longpolling_url + "/web/session/get_session_info",
        json={"jsonrpc": "2.0", "method": "call", "params": {}},
        cookies={"session_id": sid},
        timeout=30,
    )
    assert response.json()["result"]["uid"] == 2
    assert "Traceback" not in node.log()
