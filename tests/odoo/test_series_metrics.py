"""Prometheus metrics on Odoo 16 and later: a prefork node's workers (and
its gevent process) count into one page, and reading it costs Redis
nothing. Odoo 11's metrics tests are in tests/odoo/test_probes.py."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.probing import (
    assert_only_the_paths_as_spelled_answer,
    changes,
    command_calls,
    commands_since,
    scrape,
)
from tests.support.servers import SERIES


@pytest.mark.parametrize("series", SERIES)
def test_prefork_workers_count_into_one_metrics_page(series, series_nodes, redis_client):
    node = series_nodes(series, workers=2)("metrics", env={"ODOO_SESSION_REDIS_METRICS": "1"})
    sid = node.login()
    before = scrape(node)
    with ThreadPoolExecutor(4) as pool:  # a worker serves one request at a time
        infos = list(pool.map(lambda _: node.session_info(sid), range(20)))
    assert all(info["uid"] == 2 for info in infos)
    after = scrape(node)
    delta = changes(before, after)
    assert delta["loads_total/hit"] == 20 and delta["redis_seconds_count/load"] == 20
    served_by = set(re.findall(r"^\S+ \S+ (\d+) INFO .*get_session_info", node.log(), re.M))
    assert len(served_by) >= 2, served_by

    commands = command_calls(redis_client)
    assert scrape(node) == after  # reading the page counts nothing...
    assert commands_since(redis_client, commands) == {}  # ...and asks Redis nothing


@pytest.mark.parametrize("series", SERIES)
def test_only_the_paths_as_spelled_answer_on_every_server_of_a_node(series, series_nodes):
    node = series_nodes(series, workers=2)("prefork", env={"ODOO_SESSION_REDIS_METRICS": "1"})
    assert_only_the_paths_as_spelled_answer(node)
