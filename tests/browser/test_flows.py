"""What the users of a production site do, in Chromium, on every series:
nginx without stickiness in front of two prefork nodes (each with its
longpolling process on Odoo 11, its gevent process serving ``/websocket``
on 16-19) that share the series' apps database. The walks of each
generation are in tests/support/flows_odoo11.py and flows_odoo16.py.

Every flow runs on a site with the addon on, where it must succeed, and, on
11 and 18, on a site with the addon off (each node its own session files),
where it must stop at the point where a request reaches the node that does
not hold the session. One site per series and mode, shared by the flows
that run on it (pytest runs them all before it builds the next site).
"""

import os

import pytest

from tests.support import flows_odoo11, flows_odoo16
from tests.support.chrome import needs_browser, start_chromium
from tests.support.servers import copy_of, drop_database, require_series

pytestmark = [needs_browser, pytest.mark.timeout(600)]

# Which flows run where. Within the suite's time: every flow on 11 and 18,
# addon on and off; addon on, on 19 the login, the two-factor login and the
# device list (where 19's session handling differs from 18's), and the
# login on 16 and 17 (their Discuss, shop and portal pages walk as on 18;
# their sessions' HTTP behaviour is tests/odoo/test_series_sessions.py's).
# SERIES_BROWSER_ALL=1 runs every flow each series has, addon on and off
# (about three times as long).
ALL = os.environ.get("SERIES_BROWSER_ALL") == "1"
FLOWS_16 = ("login", "discuss", "totp", "restart", "shop", "portal", "livechat")
FLOWS_18 = FLOWS_16 + ("devices",)  # 18 added the device list
IN_SUITE = {
    "11.0": flows_odoo11.FLOWS,
    "18.0": FLOWS_18,
    "19.0": ("login", "totp", "devices"),
    "16.0": ("login",),
    "17.0": ("login",),
}
EXISTING = dict(
    zip(("11.0", "16.0", "17.0", "18.0", "19.0"), (flows_odoo11.FLOWS,) + 2 * (FLOWS_16,) + 2 * (FLOWS_18,))
)
CONTROLLED = ("11.0", "18.0")  # the series whose flows also run with the addon off
SITES = [
    (series, addon)
    for series in ("11.0", "18.0", "16.0", "17.0", "19.0")
    for addon in (True, False)
    if ALL or addon or series in CONTROLLED
]


def site_id(param):
    return "%s-addon-%s" % (param[0], "on" if param[1] else "off")


def flow(name):
    """Mark a test as the run of flow ``name``: it gets the sites that run it."""

    def mark(test):
        test.flow = name
        return test

    return mark


def flows_on(series):
    return (EXISTING if ALL else IN_SUITE)[series]


def pytest_generate_tests(metafunc):
    name = getattr(metafunc.function, "flow", None)
    if name:
        sites = [param for param in SITES if name in flows_on(param[0])]
        metafunc.parametrize("site", sites, ids=site_id, indirect=True, scope="module")


@pytest.fixture(scope="module")
def odoo11_database(request):
    """One copy of Odoo 11's apps database for both of its sites: the second
    one finds the web client's assets already compiled."""
    database = copy_of(request.getfixturevalue("apps_template"))
    yield database
    drop_database(database.name)


@pytest.fixture(scope="module")
def site(request, redis_server, tmp_path_factory):
    """The site of one series and mode (``request.param``)."""
    series, addon = request.param
    folder = tmp_path_factory.mktemp("site-%s" % site_id(request.param))
    if series == "11.0":
        database = request.getfixturevalue("odoo11_database")
        with flows_odoo11.running_site(addon, database, redis_server, folder) as running:
            running.flows = flows_on(series)
            yield running
    else:
        require_series(series)
        database = request.getfixturevalue("series_apps_database")(series)
        with flows_odoo16.running_site(series, addon, database, redis_server, folder) as running:
            running.flows = flows_on(series)
            yield running


def flows(site):
    """The module of walks for the site's generation."""
    return flows_odoo11 if isinstance(site, flows_odoo11.Site) else flows_odoo16


@pytest.fixture
def browsers(site, tmp_path):
    """Factory of Chromium instances, each with its own cookies."""
    started = []

    def make():
        driver = start_chromium(tmp_path / ("profile-%d" % len(started)))
        started.append(driver)
        site.prepare(driver)
        return driver

    yield make
    for driver in started:
        driver.quit()


@flow("login")
def test_login_stays_logged_in_on_pages_spread_over_both_nodes(site, browsers):
    flows(site).login(site, browsers)


@flow("discuss")
def test_discuss_message_reaches_the_other_users_open_client(site, browsers):
    flows(site).discuss(site, browsers)


@flow("restart")
def test_discuss_and_logins_survive_a_rolling_restart_of_every_node(site, browsers):
    flows(site).restart(site, browsers)


@flow("shop")
def test_anonymous_cart_kept_across_nodes_and_restarts_then_guest_checkout(site, browsers):
    flows(site).shop(site, browsers)


@flow("portal")
def test_portal_customer_sees_their_orders(site, browsers):
    flows(site).portal(site, browsers)


@flow("livechat")
def test_live_chat_between_a_visitor_and_the_operator(site, browsers):
    flows(site).livechat(site, browsers)


@flow("totp")
def test_two_factor_login_password_on_one_node_code_on_the_other(site, browsers):
    flows(site).totp(site, browsers)


@flow("devices")
def test_a_browser_logs_the_other_out_from_the_device_list(site, browsers):
    flows(site).devices(site, browsers)
