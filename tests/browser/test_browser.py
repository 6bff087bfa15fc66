"""A real browser behind nginx, which sends each request to one of two
Odoo 11 nodes at random: with the addon every page stays logged in; with
the addon off the same walk lands on the login page, so the check can fail.
"""

import os
import shutil
import time
from urllib.parse import urlparse

import pytest

from tests.support.chrome import (  # noqa: E402
    By,
    needs_browser,
    page_state,
    submit_login_form,
)
from tests.support.lb import Balancer, lessc_bin_dir, path_with_lessc
from tests.support.servers import REPO

pytestmark = needs_browser

# Full page loads of the web client and the breadcrumb each one must show.
LOGGED_IN_PAGES = [
    ("/web", "Apps"),
    ("/web?debug=1", "Apps"),
    ("/web#action=base.action_res_groups", "Groups"),
    ("/web#action=base.action_res_company_form", "Companies"),
    ("/web#action=base.action_partner_form", "Customers"),
    ("/web?debug=1#action=base.ir_config_list_action", "System Parameters"),
    ("/web#action=base.action_country", "Countries"),
    ("/web#action=base.action_currency_form", "Currencies"),
    ("/web#action=base.res_lang_act_window", "Languages"),
    ("/web#action=base.open_module_tree", "Apps"),
    ("/web?debug=1#action=base.ir_cron_act", "Scheduled Actions"),
    ("/web#action=base.action_res_users", "Users"),
]

SCREENSHOT = "browser-logged-in.png"


@pytest.fixture
def balanced_site(odoo_nodes, tmp_path):
    """Factory: nginx on a free port in front of prefork nodes ``a`` and ``b``."""
    balancers = []

    def make(redis):
        bin_dir = lessc_bin_dir()
        if bin_dir is None:
            pytest.skip("Odoo 11's web client needs lessc: install npm")
        # Before the first page: Odoo keeps a failed stylesheet compilation.
        env = {"PATH": path_with_lessc(bin_dir)}
        nodes = [
            odoo_nodes(name, env=env, redis=redis, workers=2, extra_args=["--proxy-mode"])
            for name in ("a", "b")
        ]
        balancer = Balancer.over(str(tmp_path / "nginx"), nodes)
        balancers.append(balancer)
        balancer.start()
        return balancer, nodes

    yield make
    for balancer in balancers:
        balancer.stop()


def open_page(driver, url, timeout):
    """Load ``url`` as a new document (not an in-page hash change), so
    the page itself and all its calls go through the balancer again."""
    driver.get("about:blank")
    driver.get(url)
    return page_state(driver, timeout), urlparse(driver.current_url).path


def node_addresses(nodes):
    return {"127.0.0.1:%d" % node.port for node in nodes}


def page_loads_per_node(balancer, since):
    """Documents (not calls) each node served: tells how pages were spread."""
    counts = {}
    for addresses, _status, method, uri in balancer.access_lines()[since:]:
        if method == "GET" and (uri == "/web" or uri.startswith("/web?")):
            address = addresses.split(", ")[-1]  # the node that answered
            counts[address] = counts.get(address, 0) + 1
    return counts


@pytest.mark.timeout(300)
def test_pages_spread_over_two_nodes_stay_logged_in(balanced_site, browser, tmp_path):
    balancer, nodes = balanced_site(redis=True)
    # The first page compiles the web client's stylesheets and scripts.
    submit_login_form(browser, balancer.url, timeout=120)
    assert page_state(browser, timeout=120) == "logged in: Apps"
    assert browser.find_elements(
        By.CSS_SELECTOR, "link[rel=stylesheet][href*='web.assets_backend']"
    ), "the web client has no compiled stylesheet (lessc missing?)"
    since = len(balancer.access_lines())

    for path, breadcrumb in LOGGED_IN_PAGES:
        state, url_path = open_page(browser, balancer.url + path, timeout=45)
        assert (state, url_path) == ("logged in: " + breadcrumb, "/web"), path
        assert not browser.find_elements(By.CSS_SELECTOR, "form.oe_login_form"), path

    served = balancer.requests_per_node(since)
    print(
        "requests per node %s, page loads per node %s" % (dict(served), page_loads_per_node(balancer, since))
    )
    assert set(served) == node_addresses(nodes), (served, page_loads_per_node(balancer, since))
    failed = [line for line in balancer.access_lines()[since:] if not line[1].startswith(("2", "3"))]
    assert not failed, failed

    screenshot = tmp_path / SCREENSHOT
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10000
    os.makedirs(os.path.join(REPO, "artifacts"), exist_ok=True)
    shutil.copyfile(str(screenshot), os.path.join(REPO, "artifacts", SCREENSHOT))


@pytest.mark.timeout(300)
def test_without_the_addon_the_same_walk_lands_on_the_login_page(balanced_site, browser):
    balancer, _nodes = balanced_site(redis=False)
    submit_login_form(browser, balancer.url, timeout=120)  # logged in on one node only
    since = len(balancer.access_lines())

    states = []
    deadline = time.monotonic() + 90
    for path, _breadcrumb in LOGGED_IN_PAGES * 2:
        if "login page" in states or time.monotonic() > deadline:
            break
        states.append(open_page(browser, balancer.url + path, timeout=15)[0])
    assert "login page" in states, (states, balancer.requests_per_node(since))
