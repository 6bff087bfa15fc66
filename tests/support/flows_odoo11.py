"""The browser flows of Odoo 11 (tests/browser/test_flows.py runs them):
nginx in front of two prefork nodes, each with its longpolling process,
sharing the apps database (tests/support/apps.py): employees chatting in
Discuss, an anonymous shopper, a portal customer, a live chat. Nodes are
restarted one at a time in the middle of the Discuss and eCommerce flows.

Each flow takes the site and a factory of browsers, and checks its outcome:
done with the addon on, stopped where a request reaches a node that does not
hold the session with the addon off."""

import contextlib
import re

import psycopg2
import pytest

from tests.support.apps import EMPLOYEE, PORTAL, PRODUCTS
from tests.support.chrome import By, Keys, page_state, shows, submit_login_form
from tests.support.lb import lessc_bin_dir, path_with_lessc
from tests.support.shop import ADDRESS, SHOP_WALK
from tests.support.sites import DONE, balanced, check, screenshot, two_nodes

# The flows this generation has (the others are Odoo 16+'s).
FLOWS = ("login", "discuss", "shop", "portal", "livechat")


class Site(object):
    """nginx over two prefork nodes; ``addon`` says whether they share
    their sessions through Redis."""

    series_name = "11.0"

    def __init__(self, addon, database, nodes, balancer):
        self.addon = addon
        self.database = database
        self.nodes = nodes
        self.balancer = balancer
        self.url = balancer.url
        self.flows = ()  # the flows that run on this site (the test module says)

    @property
    def mode(self):
        return "11.0 addon %s" % ("on" if self.addon else "off")

    def prepare(self, driver):
        """Nothing to set up in a new browser for Odoo 11's pages."""

    def rolling_restart(self):
        """Restart every node, one at a time, each on its own ports."""
        for node in self.nodes:
            node.restart()

    def query(self, sql, *args):
        with psycopg2.connect(dbname=self.database.name) as connection, connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()


@contextlib.contextmanager
def running_site(addon, database, redis_server, folder):
    """The site of one mode (addon on: sessions in ``redis_server``) on
    ``database``, a copy of the apps database, stopped at the end."""
    bin_dir = lessc_bin_dir()
    if bin_dir is None:
        pytest.skip("Odoo 11's web client needs lessc: install npm")
    settings = {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_server.url} if addon else {}
    settings["PATH"] = path_with_lessc(bin_dir)
    nodes = two_nodes(database, folder, settings)
    with balanced(nodes, folder) as balancer:
        yield Site(addon, database, nodes, balancer)


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


# --- Login across nodes -----------------------------------------------------

# Pages of base (xmlid of the action), each loaded as a new document; some in
# debug mode, as administrators open them.
PAGES = [
    "base.action_res_groups",
    "base.action_res_company_form",
    "base.action_partner_form",
    "debug:base.ir_config_list_action",
    "base.action_country",
    "base.action_currency_form",
    "base.res_lang_act_window",
    "base.open_module_tree",
    "debug:base.ir_cron_act",
    "base.action_res_users",
]


def page_url(site, page):
    debug, _, xmlid = page.rpartition(":")
    return site.url + ("/web?debug=1" if debug else "/web") + "#action=" + xmlid


def action_names(site):
    """``{xmlid: the name its breadcrumb shows}`` of PAGES, from the database."""
    xmlids = tuple(page.rpartition(":")[2] for page in PAGES)
    return dict(
        site.query(
            "SELECT d.module || '.' || d.name, a.name FROM ir_act_window a JOIN ir_model_data d"
            " ON d.model = 'ir.actions.act_window' AND d.res_id = a.id"
            " WHERE d.module || '.' || d.name IN %s",
            xmlids,
        )
    )


def login_walk(site, driver):
    """admin logs in through the balancer (the first page compiles the web
    client's stylesheets and scripts), then loads PAGES, each a new document
    whose requests nginx spreads over both nodes."""
    names = action_names(site)
    submit_login_form(driver, site.url, timeout=120)
    state = page_state(driver, timeout=settle_seconds(site))
    if not state.startswith("logged in"):
        return "logged out: after the login form, %s" % state
    assert driver.find_elements(
        By.CSS_SELECTOR, "link[rel=stylesheet][href*='web.assets_backend']"
    ), "the web client has no compiled stylesheet (lessc missing?)"
    since = len(site.balancer.access_lines())
    for page in PAGES:
        driver.get("about:blank")
        driver.get(page_url(site, page))
        state = page_state(driver, 45)
        if state != "logged in: " + names[page.rpartition(":")[2]]:
            return "logged out: %s shows %s" % (page, state)
    served = site.balancer.requests_per_node(since)
    print("%s: requests per node %s" % (site.mode, dict(served)))
    # both HTTP ports (the longpolling ports serve the bus's polls meanwhile)
    assert {"127.0.0.1:%d" % node.port for node in site.nodes} <= set(served), served
    failed = [
        line
        for line in site.balancer.access_lines()[since:]
        # 499: a request (a bus poll, an icon) the browser dropped as it left the page
        if not line[1].startswith(("2", "3")) and line[1] != "499"
    ]
    assert not failed, failed
    screenshot(driver, "login", site)
    return DONE


def login(site, browsers):
    driver = browsers()
    outcome = login_walk(site, driver)
    check(site, outcome, "logged out", driver, "login")


def settle_seconds(site):
    """How long a web client may take to settle after the login form: the
    first one compiles the stylesheets. Without the addon, a page that has
    not settled within 30 s is a failure already (the control's answer
    is the same, found sooner: a half-loaded client can wait out any time)."""
    return 120 if site.addon else 30


def open_web_client(site, driver, login):
    submit_login_form(driver, site.url, timeout=120, login=login, password=login)
    return page_state(driver, timeout=settle_seconds(site))


# --- Discuss -----------------------------------------------------------------


def discuss_flow(site, a, b):
    """B sends A a direct message; A's open Discuss shows it (as a
    notification) without a reload."""
    for driver, login in ((a, "admin"), (b, EMPLOYEE)):
        state = open_web_client(site, driver, login)
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


def discuss(site, browsers):
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


def shop(site, browsers):
    driver = browsers()
    outcome = shop_flow(site, driver)
    check(site, outcome, "cart not kept", driver, "shop")


# --- Portal ------------------------------------------------------------------

PORTAL_PAGES = ["/my", "/my/orders", "/my/orders/{order}", "/my/account", "/shop", "/my/orders", "/my"]


def portal_flow(site, driver):
    """A portal customer signs in through the balancer and finds their
    order under /my, page after page, each asked of the nodes in turn
    (addressed directly: one host, so one cookie). Through the balancer the
    addon-off control could pass by chance (every page on the node that
    holds the session)."""
    [(order_id, order_name, user_name)] = site.query(
        "SELECT o.id, o.name, p.name FROM sale_order o JOIN res_users u ON u.partner_id = o.partner_id"
        " JOIN res_partner p ON p.id = u.partner_id WHERE u.login = %s",
        PORTAL,
    )
    submit_login_form(driver, site.url, timeout=120, login=PORTAL, password=PORTAL)
    for number, path in enumerate(PORTAL_PAGES):
        node = site.nodes[number % len(site.nodes)]
        driver.get(node.url + path.format(order=order_id))
        if driver.find_elements(By.CSS_SELECTOR, "form.oe_login_form") or user_name not in body_text(driver):
            return "logged out at %s" % path
        if path == "/my/orders" and order_name not in body_text(driver):
            return "order %s not listed" % order_name
    screenshot(driver, "portal", site)
    return DONE


def portal(site, browsers):
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
    state = open_web_client(site, operator, "admin")
    if not state.startswith("logged in"):
        return "logged out: operator at %s" % state
    # The button shows once the operator is online: his web client's bus
    # polls tell Odoo he is there.
    for _attempt in range(6 if site.addon else 3):
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


def livechat(site, browsers):
    visitor, operator = browsers(), browsers()
    outcome = livechat_flow(site, visitor, operator)
    check(site, outcome, ("logged out", "no live chat button"), operator, "livechat")
