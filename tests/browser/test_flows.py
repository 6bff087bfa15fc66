"""What the users of a production site do, in Chromium, through nginx in
front of two prefork nodes (each with its longpolling process) that share
the apps database: employees chatting in Discuss, an anonymous shopper, a
portal customer, a live chat. Nodes are restarted one at a time in the
middle of the Discuss and eCommerce flows.

Every flow runs on a site with the addon on, where it must succeed, and on
a site with the addon off, where it must fail at the point where a
request reaches a node that does not hold the session. Each flow returns
where it got to, so both outcomes are read the same way.
"""

import os
import re

import psycopg2
import pytest

from tests.support.apps import EMPLOYEE, PORTAL, PRODUCTS
from tests.support.chrome import (
    By,
    Keys,
    needs_browser,
    page_state,
    shows,
    start_chromium,
    submit_login_form,
)
from tests.support.lb import Balancer, lessc_bin_dir, path_with_lessc
from tests.support.servers import REPO, OdooNode, copy_of, drop_database
from tests.support.shop import ADDRESS, SHOP_WALK

pytestmark = [needs_browser, pytest.mark.timeout(600)]

DONE = "done"


class Site(object):
    """nginx over two prefork nodes; ``addon`` says whether they share
    their sessions through Redis."""

    def __init__(self, addon, database, nodes, balancer):
        self.addon = addon
        self.database = database
        self.nodes = nodes
        self.balancer = balancer
        self.url = balancer.url

    def rolling_restart(self):
        """Restart every node, one at a time, each on its own ports."""
        for node in self.nodes:
            node.restart()

    def query(self, sql, *args):
        with psycopg2.connect(dbname=self.database.name) as connection, connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()


@pytest.fixture(scope="module")
def flows_database(apps_template):
    """One copy of the apps database for both sites: the second one finds
    the web client's assets already compiled."""
    database = copy_of(apps_template)
    yield database
    drop_database(database.name)


@pytest.fixture(scope="module", params=[True, False], ids=["addon-on", "addon-off"])
def site(request, flows_database, redis_server, tmp_path_factory):
    """One site per mode, shared by the flows of this module (pytest runs
    all the flows of one mode before it builds the other)."""
    bin_dir = lessc_bin_dir()
    if bin_dir is None:
        pytest.skip("Odoo 11's web client needs lessc: install npm")
    database = flows_database
    folder = tmp_path_factory.mktemp("site")
    settings = (
        {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_server.url} if request.param else {}
    )
    settings["PATH"] = path_with_lessc(bin_dir)
    nodes = [
        OdooNode(
            database.name,
            str(folder / name),
            settings,
            filestore=database.filestore,
            extra_args=["--proxy-mode"],
            workers=2,
        )
        for name in ("a", "b")
    ]
    balancer = None
    try:
        for node in nodes:
            node.start(timeout=120)
        balancer = Balancer.over(str(folder / "nginx"), nodes).start()
        yield Site(request.param, database, nodes, balancer)
    finally:
        if balancer:
            balancer.stop()
        for node in nodes:
            node.stop()


@pytest.fixture
def browsers(tmp_path):
    """Factory of Chromium instances, each with its own cookies."""
    started = []

    def make():
        started.append(start_chromium(tmp_path / ("profile-%d" % len(started))))
        return started[-1]

    yield make
    for driver in started:
        driver.quit()


def screenshot(driver, flow, site):
    folder = os.path.join(REPO, "artifacts")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "%s-addon-%s.png" % (flow, "on" if site.addon else "off"))
    assert driver.save_screenshot(path)


def check(site, outcome, failure, driver, flow):
    """With the addon the flow is done; without, it stops at ``failure``.
    A flow that did not finish leaves a screenshot of where it stopped."""
    if outcome != DONE:
        screenshot(driver, flow, site)
    print("addon %s: %s" % ("on" if site.addon else "off", outcome))
    if site.addon:
        assert outcome == DONE
    else:
        assert outcome.startswith(failure), outcome


def rpc(driver, model, method, *args, **kwargs):
    """A call through the open web client's own session (cookie and all)."""
    return driver.execute_async_script(
        """
        var done = arguments[arguments.length - 1];
        odoo.__DEBUG__.services['web.session'].rpc('/web/dataset/call_kw', arguments[0]).then(
            function (result) { done({result: result}); },
            function (error) { done({error: (error && error.data && error.data.name) || String(error)}); });
        """,
        {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
    )


def body_text(driver):
    return driver.find_element(By.TAG_NAME, "body").text


def open_web_client(driver, url, login):
    submit_login_form(driver, url, timeout=120, login=login, password=login)
    return page_state(driver, timeout=120)


# --- Discuss -----------------------------------------------------------------


def discuss_flow(site, a, b):
    """B sends A a direct message; A's open Discuss shows it (as a
    notification) without a reload."""
    for driver, login in ((a, "admin"), (b, EMPLOYEE)):
        state = open_web_client(driver, site.url, login)
        if not state.startswith("logged in"):
            return "logged out: %s at %s" % (login, state)
    admin = rpc(b, "res.users", "search_read", [("login", "=", "admin")], ["partner_id"])
    if "error" in admin:
        return "logged out: %s: %s" % (EMPLOYEE, admin["error"])
    channel = rpc(b, "mail.channel", "channel_get", [admin["result"][0]["partner_id"][0]])
    if "error" in channel:
        return "logged out: %s: %s" % (EMPLOYEE, channel["error"])
    a.get(site.url + "/web#action=mail.mail_channel_action_client_chat")
    if page_state(a, 60) == "login page":
        return "logged out: admin at login page"
    if not shows(a, 60, lambda driver: driver.find_elements(By.CSS_SELECTOR, ".o_mail_chat .o_mail_thread")):
        return "no Discuss: admin sees %s" % page_state(a, 5)
    a.execute_script("window.sessionRedisNoReload = true;")

    def post(text, wait):
        sent = rpc(
            b,
            "mail.channel",
            "message_post",
            [channel["result"]["id"]],
            body=text,
            message_type="comment",
            subtype="mail.mt_comment",
        )
        if "error" in sent:
            return "logged out: %s: %s" % (EMPLOYEE, sent["error"])
        if not shows(a, wait, lambda driver: text in body_text(driver)):
            return "not shown: %r, admin sees %s" % (text, page_state(a, 5))
        assert a.execute_script("return window.sessionRedisNoReload === true;"), "A's page was reloaded"
        return DONE

    if site.addon:
        site.rolling_restart()
        # Odoo's bus waits 11 to 30 s before it polls again after losing its
        # poll to a restart: the first message tells when it is back.
        outcome = post("Back after the restarts?", 90)
        if outcome != DONE:
            return outcome
    outcome = post("Hello Admin, Bob here", 5)
    if outcome != DONE:
        return outcome
    screenshot(a, "discuss", site)
    for driver in (a, b):
        driver.get(site.url + "/web")
        state = page_state(driver, 60)
        if not state.startswith("logged in"):
            return "logged out after the message: %s" % state
    return DONE


def test_discuss_direct_message_shows_in_real_time(site, browsers):
    a, b = browsers(), browsers()
    outcome = discuss_flow(site, a, b)
    check(site, outcome, "logged out", a, "discuss")


# --- eCommerce ---------------------------------------------------------------


def cart_quantity(driver):
    """The cart count in the page header ('' for an empty cart)."""
    if not shows(driver, 30, lambda driver: driver.find_elements(By.CSS_SELECTOR, ".my_cart_quantity")):
        return "no header"
    return driver.find_element(By.CSS_SELECTOR, ".my_cart_quantity").get_attribute("textContent").strip()


def add_to_cart(driver, site, product_id):
    driver.get(site.url + "/shop/product/%d" % product_id)
    driver.find_element(By.ID, "add_to_cart").click()
    return shows(driver, 60, lambda driver: "/shop/cart" in driver.current_url)


def checkout_as_guest(driver, site):
    """Address form, then wire transfer: the confirmation page's order name."""
    driver.get(site.url + "/shop/checkout")
    if not shows(driver, 60, lambda driver: driver.find_elements(By.NAME, "street")):
        return None, "no address form at %s" % driver.current_url
    for name, value in ADDRESS.items():
        driver.find_element(By.NAME, name).send_keys(value)
    country = driver.find_element(By.ID, "country_id")
    country.find_element(By.XPATH, "option[normalize-space()='Belgium']").click()
    driver.find_element(By.CSS_SELECTOR, "form .a-submit").click()
    # the checkout page shows the addresses to confirm
    if not shows(
        driver, 60, lambda driver: driver.find_elements(By.CSS_SELECTOR, "a[href='/shop/confirm_order']")
    ):
        return None, "no address confirmation at %s" % driver.current_url
    driver.find_element(By.CSS_SELECTOR, "a[href='/shop/confirm_order']").click()
    if not shows(driver, 60, lambda driver: driver.find_elements(By.ID, "o_payment_form_pay")):
        return None, "no payment page at %s" % driver.current_url
    transfer = driver.find_element(By.CSS_SELECTOR, "input[data-provider=transfer]")
    if not transfer.is_selected():
        transfer.click()
    driver.find_element(By.ID, "o_payment_form_pay").click()
    if not shows(driver, 60, lambda driver: "/shop/confirmation" in driver.current_url):
        return None, "no confirmation page at %s" % driver.current_url
    found = re.search(r"\bSO\d+\b", body_text(driver))
    return (found.group(0), DONE) if found else (None, "no order name on the confirmation page")


def shop_flow(site, driver):
    """An anonymous visitor fills a cart, walks the site, pays by wire transfer."""
    ids = dict(site.query("SELECT name, id FROM product_template WHERE name IN %s", PRODUCTS))
    for name in PRODUCTS:
        if not add_to_cart(driver, site, ids[name]):
            return "no cart after adding %s" % name
    seen = []
    for number, path in enumerate(SHOP_WALK):
        if site.addon and number == len(SHOP_WALK) // 2:
            site.rolling_restart()
        driver.get(site.url + path.format(lamp=ids["Desk Lamp"], chair=ids["Office Chair"]))
        seen.append(cart_quantity(driver))
    if seen != ["2"] * len(SHOP_WALK):
        return "cart not kept: counts seen %s" % seen
    order, outcome = checkout_as_guest(driver, site)
    if outcome != DONE:
        return outcome
    screenshot(driver, "shop", site)
    lines = site.query(
        "SELECT t.name, l.product_uom_qty FROM sale_order o JOIN sale_order_line l ON l.order_id = o.id"
        " JOIN product_product p ON p.id = l.product_id JOIN product_template t ON t.id = p.product_tmpl_id"
        " JOIN res_partner c ON c.id = o.partner_id WHERE o.name = %s AND c.email = %s",
        order,
        ADDRESS["email"],
    )
    assert sorted(lines) == [(name, 1.0) for name in sorted(PRODUCTS)], (order, lines)
    return DONE


def test_anonymous_cart_survives_walk_restarts_and_checkout(site, browsers):
    driver = browsers()
    outcome = shop_flow(site, driver)
    check(site, outcome, "cart not kept", driver, "shop")


# --- Portal ------------------------------------------------------------------

PORTAL_PAGES = ["/my", "/my/orders", "/my/orders/{order}", "/my/account", "/shop", "/my/orders", "/my"]


def portal_flow(site, driver):
    """A portal customer signs in and finds their order under /my."""
    [(order_id, order_name, user_name)] = site.query(
        "SELECT o.id, o.name, p.name FROM sale_order o JOIN res_users u ON u.partner_id = o.partner_id"
        " JOIN res_partner p ON p.id = u.partner_id WHERE u.login = %s",
        PORTAL,
    )
    submit_login_form(driver, site.url, timeout=120, login=PORTAL, password=PORTAL)
    for path in PORTAL_PAGES:
        driver.get(site.url + path.format(order=order_id))
        if driver.find_elements(By.CSS_SELECTOR, "form.oe_login_form") or user_name not in body_text(driver):
            return "logged out at %s" % path
        if path == "/my/orders" and order_name not in body_text(driver):
            return "order %s not listed" % order_name
    screenshot(driver, "portal", site)
    return DONE


def test_portal_customer_sees_their_orders(site, browsers):
    driver = browsers()
    outcome = portal_flow(site, driver)
    check(site, outcome, "logged out", driver, "portal")


# --- Live chat ---------------------------------------------------------------

COMPOSER = ".o_chat_window .o_composer_text_field"


def chat_window_with(driver, text):
    """The open chat window that shows ``text``, if any."""
    for window in driver.find_elements(By.CSS_SELECTOR, ".o_chat_window"):
        if text in window.text and window.find_elements(By.CSS_SELECTOR, ".o_composer_text_field"):
            return window
    return None


def livechat_flow(site, visitor, operator):
    """An anonymous visitor writes in the website's live chat; the operator
    (admin, in the web client) sees it and replies; the visitor sees the reply."""
    state = open_web_client(operator, site.url, "admin")
    if not state.startswith("logged in"):
        return "logged out: operator at %s" % state
    # The button shows once the operator is online: his web client's bus
    # polls tell Odoo he is there.
    for _attempt in range(6):
        visitor.get(site.url + "/")
        if shows(visitor, 10, lambda driver: driver.find_elements(By.CSS_SELECTOR, ".o_livechat_button")):
            break
    else:
        return "no live chat button: the operator is not online (%s)" % page_state(operator, 5)
    visitor.find_element(By.CSS_SELECTOR, ".o_livechat_button").click()
    if not shows(visitor, 30, lambda driver: driver.find_elements(By.CSS_SELECTOR, COMPOSER)):
        return "no chat window for the visitor"
    visitor.find_element(By.CSS_SELECTOR, COMPOSER).send_keys("Do you deliver to Brussels?" + Keys.ENTER)
    if not shows(operator, 30, lambda driver: "Do you deliver to Brussels?" in body_text(driver)):
        return "logged out: the operator never sees the message (%s)" % page_state(operator, 5)
    reply = "Yes, within two days."
    window = shows(operator, 15, lambda driver: chat_window_with(driver, "Do you deliver to Brussels?"))
    if window:
        window.find_element(By.CSS_SELECTOR, ".o_composer_text_field").send_keys(reply + Keys.ENTER)
        print("the operator replied in his chat window")
    else:  # no chat window opened: answer from the web client's session
        channels = rpc(
            operator, "mail.channel", "search", [("channel_type", "=", "livechat")], order="id desc", limit=1
        )
        sent = rpc(
            operator,
            "mail.channel",
            "message_post",
            channels.get("result"),
            body=reply,
            message_type="comment",
            subtype="mail.mt_comment",
        )
        if "error" in sent:
            return "logged out: operator: %s" % sent["error"]
        print("the operator replied through the web client's session (no chat window)")
    if not shows(visitor, 30, lambda driver: reply in body_text(driver)):
        return "the visitor never sees the reply"
    screenshot(visitor, "livechat", site)
    return DONE


def test_live_chat_between_a_visitor_and_the_operator(site, browsers):
    visitor, operator = browsers(), browsers()
    outcome = livechat_flow(site, visitor, operator)
    check(site, outcome, ("logged out", "no live chat button"), operator, "livechat")
