"""The browser flows of Odoo 16 to 19 (tests/browser/test_flows.py runs
them): nginx without stickiness in front of two prefork nodes, each with its
gevent process serving the web client's ``/websocket``, sharing the series'
apps database (tests/support/series_apps.py: Discuss, two-factor login, the
shop and the live chat, with their users, products and orders) and its
compiled assets.

Each flow takes the site and a factory of browsers, and checks its outcome:
done with the addon on; with the addon off (``--load=base,web``, each node
its own session files) stopped at the point where a request reaches the
node that does not hold the session. A flow returns where it got to, so
both outcomes are read the same way."""

import base64
import contextlib
import hashlib
import hmac
import struct
import time
import uuid

import requests

from tests.support.chrome import (
    By,
    Keys,
    WebDriverWait,
    element_to_be_clickable,
    replaced,
    reread,
    shows,
    submit_login_form,
)
from tests.support.series_apps import ALICE, BOB, DAVE, PASSWORD, PAULA, PRODUCTS, TESS, TOTP_SECRET
from tests.support.servers import wait_until
from tests.support.shop import ADDRESS, SHOP_WALK
from tests.support.sites import DONE, balanced, check, screenshot, two_nodes

# What the page shows once it has settled, or null while it is loading:
# the web client of 16-19 (the breadcrumb's last item, or the app's name
# where there is no breadcrumb, as in Discuss), the login form,
# Odoo's "session expired" dialog, or a web client that could not start
# (an error and nothing shown: a call of its start was refused).
PAGE_STATE_SCRIPT = """
if (document.querySelector('form.oe_login_form')) return 'login page';
var errors = window.sessionRedisErrors || [];
if (errors.length && document.readyState === 'complete' && !document.body.children.length)
    return 'no web client: ' + errors[0];
var dialog = document.querySelector('.o_error_dialog');
if (dialog && /session expired/i.test(dialog.innerText)) return 'session expired';
if (!document.querySelector('.o_user_menu') || !document.querySelector('.o_action_manager > *')) return null;
var crumb = document.querySelector(
    '.o_control_panel .o_last_breadcrumb_item, .o_control_panel .breadcrumb-item.active');
var brand = document.querySelector('.o_menu_brand');
return 'logged in: ' + (crumb || brand || {innerText: ''}).innerText.trim();
"""

# Run before each document's own scripts: keeps the page's uncaught errors.
RECORD_ERRORS_SCRIPT = """
window.sessionRedisErrors = [];
window.addEventListener('error', function (event) { sessionRedisErrors.push(String(event.message)); });
window.addEventListener('unhandledrejection', function (event) {
    var reason = event.reason;
    sessionRedisErrors.push(String((reason && reason.message) || reason));
});
"""

# Who the page's origin (one node, or the balancer) says is logged in.
WHOAMI_SCRIPT = """
var done = arguments[arguments.length - 1];
fetch('/web/session/get_session_info', {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({jsonrpc: '2.0', method: 'call', params: {}})})
    .then(function (response) { return response.json(); })
    .then(function (body) { done(body.result ? body.result.username : null); },
          function (error) { done('error: ' + error); });
"""


class Series(object):
    """What differs between the series in their web client."""

    def __init__(self, name):
        self.name = name
        self.major = int(name.split(".")[0])

    @property
    def home(self):
        return "/odoo" if self.major >= 18 else "/web"

    def action_url(self, xmlid):
        return "/odoo/action-%s" % xmlid if self.major >= 18 else "/web#action=%s" % xmlid

    def chat_url(self, channel_id):
        if self.major == 16:  # its Discuss reads the id from the action's params
            return "/web#action=mail.action_discuss&default_active_id=mail.channel_%d" % channel_id
        if self.major == 17:
            return "/web#action=mail.action_discuss&active_id=discuss.channel_%d" % channel_id
        return "/odoo/discuss?active_id=discuss.channel_%d" % channel_id

    @property
    def composer(self):
        return ".o_ComposerTextInput_textarea" if self.major == 16 else ".o-mail-Composer-input"

    @property
    def sidebar_chat(self):
        return "o_DiscussSidebarCategoryItem" if self.major == 16 else "o-mail-DiscussSidebarChannel"

    @property
    def message(self):
        return ".o_Message_content" if self.major == 16 else ".o-mail-Message-body"

    add_to_cart = "#add_to_cart"

    @property
    def save_address(self):
        """The address form's submit button."""
        if self.major <= 17:
            return "form[action='/shop/address'] a.a-submit"
        return "#save_address" if self.major == 18 else "[name=website_sale_main_button]"

    # 18 and 19: the checkout step after the address (delivery), once its rates are in
    confirm_checkout = "[name=website_sale_main_button]:not(.disabled)"

    @property
    def livechat_in_shadow_root(self):
        """17 moved the website's live chat into a shadow root."""
        return self.major >= 17

    @property
    def livechat_button(self):
        return ".o_livechat_button" if self.major == 16 else "button.o-livechat-LivechatButton"

    @property
    def visitor_composer(self):
        return ".o_thread_window .o_composer_text_field" if self.major == 16 else ".o-mail-Composer-input"

    @property
    def visitor_message(self):
        return ".o_thread_message_content" if self.major == 16 else ".o-mail-Message-body"

    @property
    def chat_window(self):
        return ".o_ChatWindow" if self.major == 16 else ".o-mail-ChatWindow"

    @property
    def devices(self):
        """Odoo 18 put devices in the preferences."""
        return self.major >= 18


class Site(object):
    """nginx over two prefork nodes of one series; ``addon`` says whether
    they share their sessions through Redis."""

    def __init__(self, series, addon, database, nodes, balancer):
        self.series = Series(series)
        self.series_name = series
        self.addon = addon
        self.database = database
        self.nodes = nodes
        self.balancer = balancer
        self.url = balancer.url
        self.flows = ()  # the flows that run on this site (the test module says)

    def prepare(self, driver):
        """Keep the page's uncaught errors (see PAGE_STATE_SCRIPT)."""
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_ERRORS_SCRIPT})

    def rolling_restart(self):
        """Restart every node, one at a time, each on its own ports, as an
        operator does: the next node stops once the balancer sends requests
        to the restarted one again (:meth:`wait_in_rotation`)."""
        for node in self.nodes:
            node.stop()
            node.start(120)
            self.wait_in_rotation(node)

    def wait_in_rotation(self, node, timeout=60):
        """Return once nginx has had a request answered by each of
        ``node``'s ports again: its health pages are asked through the
        balancer until one of each is served there.

        nginx (open source) has only passive health checks. With the
        template's defaults (``max_fails=1``, ``fail_timeout=10s``) a server
        that refused a connection while it was down is skipped for 10 s,
        then given one request, and counted as up again only once a request
        it took has *ended*. A websocket lasts as long as its page, so a
        restarted gevent port took one new websocket per 10 s: stopping the
        next node at once left ``/websocket`` without a live upstream (seen
        in 2 runs of 4: 502 "no live upstreams" to every handshake of A's
        page for 13 to 18 s, until the last node was back). A health
        request ends at once and puts the node back."""
        for path, port in (("/web/health", node.port), ("/websocket/health", node.longpolling_port)):
            address = "127.0.0.1:%d" % port
            since = len(self.balancer.access_lines())

            def served(path=path, address=address, since=since):
                requests.get(self.url + path, timeout=10)
                # nginx logs a request once answered: a line not there yet
                # is read at the next round.
                return [
                    line
                    for line in self.balancer.access_lines()[since:]
                    if line[3] == path and line[1] == "200" and line[0].split(", ")[-1] == address
                ]

            wait_until(served, timeout, "nginx sending %s to %s after its restart" % (path, address))

    @property
    def mode(self):
        return "%s addon %s" % (self.series.name, "on" if self.addon else "off")

    def http_addresses(self):
        return {"127.0.0.1:%d" % node.port for node in self.nodes}

    def gevent_addresses(self):
        return {"127.0.0.1:%d" % node.longpolling_port for node in self.nodes}


@contextlib.contextmanager
def running_site(series, addon, database, redis_server, folder):
    """nginx over two prefork nodes (2 workers and the gevent process each)
    of one series on its apps ``database``: addon on (``redis_server``), or
    not loaded at all; stopped at the end."""
    if addon:
        env = {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_server.url}
        server_wide = "base,web,session_redis"
    else:
        env, server_wide = {}, "base,web"
    nodes = two_nodes(database, folder, env, series=series, server_wide=server_wide)
    try:
        with balanced(nodes, folder) as balancer:
            yield Site(series, addon, database, nodes, balancer)
    finally:
        redis_server.client().flushall()


# --- what the tests read from the pages ---


def page_state(driver, timeout):
    """``logged in: <breadcrumb>``, ``login page``, ``session expired``,
    ``no web client: <error>`` or, when the page never settles, ``no web client``."""
    return shows(driver, timeout, lambda driver: driver.execute_script(PAGE_STATE_SCRIPT)) or "no web client"


def wait_for(driver, timeout, by, selector):
    """The elements ``selector`` finds once there are any; or the page's
    state if it settles on the login page or Odoo's "session expired"
    first; or False when neither happens within ``timeout`` seconds."""

    def found(driver):
        elements = driver.find_elements(by, selector)
        if elements:
            return elements
        state = driver.execute_script(PAGE_STATE_SCRIPT)
        return state if state and not state.startswith("logged in") else None

    return shows(driver, timeout, found)


def click(driver, css, timeout=30):
    """Click the first shown and enabled element ``css`` finds (pages may
    hold a hidden copy, for small screens, before the shown one)."""

    def clickable(driver):
        shown = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed() and e.is_enabled()]
        return shown[0] if shown else None

    element = WebDriverWait(driver, timeout).until(reread(clickable))
    element.click()
    return element


def whoami(driver):
    """The login the current origin's node takes the browser's cookie for (None: nobody)."""
    return driver.execute_async_script(WHOAMI_SCRIPT)


def log_in(driver, url, login, password=None):
    submit_login_form(driver, url, timeout=120, login=login, password=password or login + PASSWORD)


def access_since(site, since):
    """The balancer's access lines from ``since`` on."""
    return site.balancer.access_lines()[since:]


# --- login across nodes ---

# Pages of base and web (xmlid of the action) each loaded as a new document.
PAGES = [
    "base.action_res_users",
    "base.action_res_groups",
    "base.action_res_company_form",
    "base.action_partner_form",
    "base.action_country",
    "base.action_currency_form",
    "base.ir_cron_act",
]


def action_names(site):
    """``{xmlid: the name its breadcrumb shows}`` of PAGES, from the database."""
    rows = site.database.query(
        "SELECT d.module || '.' || d.name, a.name->>'en_US' FROM ir_act_window a JOIN ir_model_data d"
        " ON d.model = 'ir.actions.act_window' AND d.res_id = a.id WHERE d.module || '.' || d.name IN %s",
        tuple(PAGES),
    )
    return dict(rows)


def settled(state, expected):
    return state == expected or (state and not state.startswith("logged in"))


def login_walk(site, driver):
    """admin logs in through the balancer, then loads PAGES, each a new
    document whose requests nginx spreads over both nodes."""
    names = action_names(site)
    log_in(driver, site.url, "admin", "admin")
    state = page_state(driver, 120)
    if not state.startswith("logged in"):
        return "logged out: after the login form, %s" % state
    since = len(site.balancer.access_lines())
    for number, xmlid in enumerate(PAGES):
        driver.get("about:blank")
        driver.get(site.url + site.series.action_url(xmlid))
        expected = "logged in: " + names[xmlid]
        # The web client shows itself before the action's breadcrumb.
        shows(
            driver,
            30,
            lambda driver, expected=expected: settled(driver.execute_script(PAGE_STATE_SCRIPT), expected),
        )
        state = page_state(driver, 5)
        if state != expected:
            return "logged out: page %d (%s) shows %s" % (number + 1, xmlid, state)
    lines = access_since(site, since)
    served = {address for address, _status, _method, _uri in lines}
    print("%s: %d requests, by %s" % (site.mode, len(lines), sorted(served)))
    assert site.http_addresses() <= served, served
    assert not [line for line in lines if line[3].startswith("/web/login")], "sent to the login page"
    errors = [line for line in lines if line[1].startswith("5")]
    assert not errors, errors
    return DONE


def one_browser_flow(site, browsers, flow, walk, failures="logged out"):
    """Run ``walk(site, driver)`` in one new browser; check its outcome."""
    driver = browsers()
    outcome = walk(site, driver)
    if outcome == DONE:
        screenshot(driver, flow, site)
    check(site, outcome, failures, driver, flow)


def login(site, browsers):
    one_browser_flow(site, browsers, "login", login_walk)


# --- Discuss over the websocket ---


def chat_composer(site, other):
    """The composer of the chat with ``other`` (its placeholder names them)."""
    return "%s[placeholder^='Message %s']" % (site.series.composer, other.capitalize())


def open_chat(site, driver, login, other):
    """Log ``login`` in through the balancer and open Discuss on the chat
    with ``other``."""
    log_in(driver, site.url, login)
    driver.get(site.url + site.series.chat_url(site.database.chat))
    state = page_state(driver, 30)
    if not state.startswith("logged in"):
        return "logged out: %s at %s" % (login, state)
    found = on_chat(site, driver, other)
    if isinstance(found, list):
        return DONE
    if found:
        return "logged out: %s at %s" % (login, found)
    return "no chat: %s sees %s" % (login, page_state(driver, 5))


def on_chat(site, driver, other):
    """Make sure Discuss shows the chat with ``other``: the URL names it,
    but Discuss may settle on another thread (Odoo 19 opens a new user's
    #general, with or without the addon, even after showing the chat), so
    the chat is picked in the sidebar, as a user would, until it stays.
    Returns what :func:`wait_for` does for the chat's composer."""
    entry = "//*[contains(@class, '%s')][.//*[normalize-space()='%s']]" % (
        site.series.sidebar_chat,
        other.capitalize(),
    )
    found = False
    for _attempt in range(3):
        found = wait_for(driver, 5, By.CSS_SELECTOR, chat_composer(site, other))
        if found is not False:
            return found
        entries = wait_for(driver, 30, By.XPATH, entry)
        if not isinstance(entries, list):
            return entries
        entries[0].click()
    return wait_for(driver, 30, By.CSS_SELECTOR, chat_composer(site, other))


def message_shown(site, driver, text):
    return [
        element
        for element in driver.find_elements(By.CSS_SELECTOR, site.series.message)
        if text in element.text
    ]


def discuss_flow(site, a, b):
    """B (bob) writes to A (alice) in their chat; A's open Discuss shows the
    message without a reload, through whichever node serves A's websocket."""
    since = len(site.balancer.access_lines())
    outcome = open_chat(site, a, ALICE, BOB)
    if outcome != DONE:
        return outcome
    logins = [line[0] for line in access_since(site, since) if line[2:] == ("POST", "/web/login")]
    outcome = open_chat(site, b, BOB, ALICE)
    if outcome != DONE:
        return outcome
    if not isinstance(on_chat(site, a, BOB), list):
        return "no chat: alice sees %s" % page_state(a, 5)
    a.execute_script("window.sessionRedisNoReload = true;")
    outcome = bob_writes(site, a, b, "Hello Alice, Bob here", 30)
    if outcome == DONE:
        print("%s: alice logged in through %s" % (site.mode, logins))
    return outcome


def bob_writes(site, a, b, text, wait):
    """B posts ``text`` (made unique) in his open chat; A's open page, not
    reloaded since the flow began, shows it within ``wait`` seconds."""
    text = "%s (%s)" % (text, uuid.uuid4().hex[:6])
    composer = b.find_element(By.CSS_SELECTOR, site.series.composer)
    # Odoo may put back a draft it kept of an earlier message: start empty.
    composer.send_keys(Keys.CONTROL, "a")
    composer.send_keys(Keys.BACK_SPACE, text + Keys.ENTER)
    if not shows(b, 30, lambda driver: message_shown(site, driver, text)):
        return "logged out: bob could not post, %s" % page_state(b, 5)
    if not shows(a, wait, lambda driver: message_shown(site, driver, text)):
        return "not shown: alice's websocket never brought it, her page shows %s" % page_state(a, 5)
    assert a.execute_script("return window.sessionRedisNoReload === true;"), "alice's page was reloaded"
    return DONE


def alice_socket(site, a):
    """Which gevent process served A's websocket: nginx logs a websocket
    when it closes, so A's tab is closed (B's stays) and the line is awaited.
    (A tab merely left could be kept, socket and all, for the back button.)"""
    since = len(site.balancer.access_lines())
    page = a.current_window_handle
    a.switch_to.new_window("tab")
    a.switch_to.window(page)
    a.close()
    a.switch_to.window(a.window_handles[0])

    def closed(_driver):
        lines = access_since(site, since)
        return [line[0].split(", ")[-1] for line in lines if line[3].startswith("/websocket")]

    return shows(a, 15, closed) or []


def discuss(site, browsers):
    a, b = browsers(), browsers()
    outcome = discuss_flow(site, a, b)
    screenshot(a, "discuss", site)
    if outcome == DONE or outcome.startswith("not shown"):
        socket = alice_socket(site, a)
        print("%s: alice's websocket served by %s" % (site.mode, socket))
        if outcome == DONE:
            assert socket and set(socket) <= site.gevent_addresses(), socket
    check(site, outcome, ("logged out", "no chat", "not shown"), None, "discuss")


# --- a rolling restart during Discuss ---

# Keeps, in the page, what its bus service (the web client's websocket, held
# by Odoo's shared worker) reports: [time, event, detail], oldest first.
# Odoo 16-18 name the events connect, reconnect, disconnect... 19
# BUS:CONNECT, BUS:RECONNECT, BUS:DISCONNECT...
WATCH_BUS_SCRIPT = """
var debug = odoo.__WOWL_DEBUG__;
var bus = debug && debug.root.env.services.bus_service;
if (!bus) return false;
window.sessionRedisBus = [];
['connect', 'reconnect', 'disconnect', 'worker_state_updated'].forEach(function (name) {
    [name, 'BUS:' + name.toUpperCase()].forEach(function (type) {
        bus.addEventListener(type, function (event) {
            sessionRedisBus.push([Date.now() / 1000, name, event.detail === undefined ? null : event.detail]);
        });
    });
});
return true;
"""

# Odoo's worker retries a websocket after 1.5 times its last delay plus up
# to 1 s, from 1 s up to 60 s (bus/static/src/workers/websocket_worker.js,
# 16-19): the longest step, with time to spare.
RECONNECT_TIMEOUT = 90


def bus_events(driver):
    return driver.execute_script("return window.sessionRedisBus || [];")


def websocket_open(events):
    """Whether the last connection event the page saw is an opening."""
    opened = [name for _at, name, _detail in events if name in ("connect", "reconnect", "disconnect")]
    return bool(opened) and opened[-1] != "disconnect"


def websocket_story(events, since):
    """What ``events`` tell of the websocket, in seconds from ``since``."""
    story = []
    for at, name, detail in events:
        if name == "disconnect":
            story.append("%+.1f s closed (%s)" % (at - since, (detail or {}).get("code")))
        elif name in ("connect", "reconnect"):
            story.append("%+.1f s open" % (at - since))
    # Odoo 18 and 19 tell each handshake the worker starts.
    tries = [at for at, name, detail in events if name == "worker_state_updated" and detail == "CONNECTING"]
    return "%s%s" % (", ".join(story) or "no event", "; %d handshakes" % len(tries) if tries else "")


def restart_flow(site, a, b):
    """With Discuss open in A's and B's browsers, every node is restarted,
    one at a time. Once A's websocket is open again, B writes: A's page,
    never reloaded, shows it; then both are logged in on every node."""
    outcome = discuss_flow(site, a, b)
    if outcome != DONE:
        return outcome
    assert a.execute_script(WATCH_BUS_SCRIPT), "alice's page has no bus service to watch"
    started = time.time()
    site.rolling_restart()
    restarted = time.time()
    # Every node was restarted, so A's websocket was closed: the message is
    # to come through the one Odoo's worker opens again.
    if not shows(a, RECONNECT_TIMEOUT, lambda driver: websocket_open(bus_events(driver))):
        return "not shown after the restarts: alice's websocket not open again %d s after them (%s)" % (
            RECONNECT_TIMEOUT,
            websocket_story(bus_events(a), restarted),
        )
    print(
        "%s: alice's websocket over the restarts (%.0f s; times from their end): %s"
        % (site.mode, restarted - started, websocket_story(bus_events(a), restarted))
    )
    outcome = bob_writes(site, a, b, "Still there after the restarts?", 30)
    if outcome != DONE:
        if outcome.startswith("not shown"):
            outcome += "; her websocket: %s; the balancer takes her cookie for %s" % (
                websocket_story(bus_events(a), restarted),
                whoami(a),
            )
        return outcome.replace("not shown:", "not shown after the restarts:")
    screenshot(a, "restart", site)
    for login, driver in ((ALICE, a), (BOB, b)):
        for node in site.nodes:
            driver.get(node.url + site.series.home)
            state = page_state(driver, 30)
            if not state.startswith("logged in") or whoami(driver) != login:
                return "logged out: %s on node %s after the restarts, %s" % (login, node.url, state)
    return DONE


def restart(site, browsers):
    a, b = browsers(), browsers()
    outcome = restart_flow(site, a, b)
    check(site, outcome, ("logged out", "no chat", "not shown"), a, "restart")


# --- eCommerce ---


def cart_quantity(driver):
    """The cart count in the page header ("0" or "" for an empty cart)."""
    counts = shows(driver, 30, lambda driver: driver.find_elements(By.CSS_SELECTOR, ".my_cart_quantity"))
    return counts[0].get_attribute("textContent").strip() if counts else "no header"


def add_to_cart(site, driver, product_id, count):
    """Add the product from its page; True once the header counts ``count``.
    The button does nothing until the page's scripts have started, so a
    click the count does not follow is made again."""
    driver.get(site.url + "/shop/product/%d" % product_id)
    for _attempt in range(6):
        click(driver, site.series.add_to_cart)
        if shows(driver, 10, lambda driver: cart_quantity(driver) == str(count)):
            return True
    return False


def checkout_as_guest(site, driver):
    """The address form, the delivery step, then the free order's
    confirmation: returns where it stopped, or DONE on the order's page."""
    driver.get(site.url + "/shop/checkout")
    if not shows(driver, 60, lambda driver: driver.find_elements(By.NAME, "street")):
        return "no address form at %s" % driver.current_url
    for name, value in ADDRESS.items():
        driver.find_element(By.NAME, name).send_keys(value)
    country = driver.find_element(By.NAME, "country_id")
    country.find_element(By.XPATH, "option[normalize-space()='Belgium']").click()
    click(driver, site.series.save_address)
    if not shows(driver, 60, lambda driver: "/shop/address" not in driver.current_url):
        return "the address was refused: %s" % driver.current_url
    if "/shop/payment" not in driver.current_url:  # 18, 19: delivery to confirm first
        click(driver, site.series.confirm_checkout, timeout=60)
    if not shows(driver, 60, lambda driver: "/shop/payment" in driver.current_url):
        return "no payment page at %s" % driver.current_url
    click(driver, "button[name=o_payment_submit_button]", timeout=60)  # "Confirm Order" (free)
    if not shows(driver, 60, lambda driver: "/shop/payment" not in driver.current_url):
        return "no confirmed order at %s" % driver.current_url
    return DONE


def shop_flow(site, driver):
    """An anonymous visitor puts two products in the cart, walks ten pages
    with the count unchanged (every node restarted half-way where the
    rolling restart runs), checks out as a guest; the order is confirmed
    in the database with both products."""
    ids = site.database.products
    for count, name in enumerate(PRODUCTS, 1):
        if not add_to_cart(site, driver, ids[name], count):
            return "no cart: %s not added, the header counts %s" % (name, cart_quantity(driver))
    seen = []
    for number, path in enumerate(SHOP_WALK):
        if number == len(SHOP_WALK) // 2 and "restart" in site.flows:
            site.rolling_restart()
        driver.get(site.url + path.format(lamp=ids[PRODUCTS[0]], chair=ids[PRODUCTS[1]]))
        seen.append(cart_quantity(driver))
    if seen != ["2"] * len(SHOP_WALK):
        return "cart not kept: counts seen %s" % seen
    outcome = checkout_as_guest(site, driver)
    if outcome != DONE:
        return outcome
    lines = site.database.query(
        "SELECT t.name->>'en_US', l.product_uom_qty FROM sale_order o"
        " JOIN sale_order_line l ON l.order_id = o.id JOIN product_product p ON p.id = l.product_id"
        " JOIN product_template t ON t.id = p.product_tmpl_id JOIN res_partner c ON c.id = o.partner_id"
        " WHERE o.state = 'sale' AND c.email = %s AND t.id IN %s",
        ADDRESS["email"],
        tuple(ids.values()),
    )
    assert sorted(lines) == [(name, 1.0) for name in PRODUCTS], lines
    return DONE


def shop(site, browsers):
    one_browser_flow(site, browsers, "shop", shop_flow, failures=("cart not kept", "no cart"))


# --- portal ---

PORTAL_PAGES = ["/my", "/my/orders", "/my/orders/{order}", "/my/account", "/shop", "/my/orders", "/my"]


def portal_flow(site, driver):
    """A portal customer signs in through the balancer and finds their
    order under /my, page after page, each asked of the nodes in turn
    (addressed directly: one host, so one cookie)."""
    [(order_id,)] = site.database.query("SELECT id FROM sale_order WHERE name = %s", site.database.order)
    log_in(driver, site.url, PAULA)
    for number, path in enumerate(PORTAL_PAGES):
        node = site.nodes[number % len(site.nodes)]
        driver.get(node.url + path.format(order=order_id))
        body = driver.find_element(By.TAG_NAME, "body").text
        if driver.find_elements(By.CSS_SELECTOR, "form.oe_login_form") or "Paula Portal" not in body:
            return "logged out at %s" % path
        if path == "/my/orders" and site.database.order not in body:
            return "order %s not listed" % site.database.order
    return DONE


def portal(site, browsers):
    one_browser_flow(site, browsers, "portal", portal_flow)


# --- live chat ---

QUESTION, ANSWER = "Do you deliver to Brussels?", "Yes, within two days."


def in_livechat(site, driver, css):
    """What ``css`` finds in the website's live chat (in its shadow root
    from 17 on)."""
    if not site.series.livechat_in_shadow_root:
        return driver.find_elements(By.CSS_SELECTOR, css)
    roots = driver.find_elements(By.CSS_SELECTOR, ".o-livechat-root")
    return roots[0].shadow_root.find_elements(By.CSS_SELECTOR, css) if roots else []


def operator_window(site, driver, text):
    """The operator's open chat window showing ``text``, if any."""
    for window in driver.find_elements(By.CSS_SELECTOR, site.series.chat_window):
        if text in window.text:
            return window
    return None


def livechat_flow(site, visitor, operator):
    """An anonymous visitor writes in the website's live chat; the operator
    (admin, in the web client) sees it in a chat window and replies there;
    the visitor sees the reply."""
    log_in(operator, site.url, "admin", "admin")
    # a page outside Discuss, where chat windows open
    operator.get(site.url + site.series.action_url("base.action_partner_form"))
    state = page_state(operator, 60)
    if not state.startswith("logged in"):
        return "logged out: the operator at %s" % state
    # The button is offered once the operator is online, which his web
    # client's websocket tells Odoo; /shop is never served from a cache.
    for attempt in range(8):
        visitor.get(site.url + "/shop?attempt=%d" % attempt)
        button = shows(visitor, 5, lambda driver: in_livechat(site, driver, site.series.livechat_button))
        if button:
            break
    else:
        return "no live chat button: the operator is not online (%s)" % page_state(operator, 5)
    button[0].click()
    composer = shows(visitor, 30, lambda driver: in_livechat(site, driver, site.series.visitor_composer))
    if not composer:
        return "no chat window for the visitor"
    composer[0].send_keys(QUESTION + Keys.ENTER)
    window = shows(operator, 30, lambda driver: operator_window(site, driver, QUESTION))
    if not window:
        return "logged out: the operator never sees the question (%s)" % page_state(operator, 5)
    window.find_element(By.CSS_SELECTOR, site.series.composer).send_keys(ANSWER + Keys.ENTER)
    reply = shows(
        visitor,
        30,
        lambda driver: [
            m for m in in_livechat(site, driver, site.series.visitor_message) if ANSWER in m.text
        ],
    )
    if not reply:
        return "not shown: the visitor never sees the reply"
    screenshot(visitor, "livechat-visitor", site)
    return DONE


def livechat(site, browsers):
    visitor, operator = browsers(), browsers()
    outcome = livechat_flow(site, visitor, operator)
    if outcome == DONE:
        screenshot(operator, "livechat", site)
    check(site, outcome, ("logged out", "no live chat button", "not shown"), operator, "livechat")


# --- two-factor login (auth_totp) ---


def totp_code(secret, at=None):
    """The RFC 6238 code of ``secret`` (base32) at ``at`` (now by default):
    SHA-1, 30-second steps, 6 digits, as authenticator apps and Odoo use."""
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (number % 1000000)


def wrong_code(secret):
    """A six-digit code that none of the time steps around now produces."""
    now = time.time()
    valid = {totp_code(secret, now + step * 30) for step in range(-2, 3)}
    code = int(totp_code(secret, now))
    while "%06d" % code in valid:
        code = (code + 1) % 1000000
    return "%06d" % code


def submit_code(driver, code):
    field = WebDriverWait(driver, 30).until(element_to_be_clickable((By.ID, "totp_token")))
    field.send_keys(code + Keys.ENTER)
    WebDriverWait(driver, 60).until(replaced(field))


def totp_flow(site, driver):
    """tess's password on node a, her code on node b (each addressed
    directly): a wrong code refused, the right one logs her in everywhere."""
    node_a, node_b = site.nodes
    log_in(driver, node_a.url, TESS)
    if not driver.current_url.startswith(node_a.url + "/web/login/totp"):
        return "no code page after the password: %s" % driver.current_url
    driver.get(node_b.url + "/web/login/totp")  # the same cookie: one host
    if not driver.current_url.startswith(node_b.url + "/web/login/totp"):
        return "logged out: node b sends the code page to %s" % driver.current_url

    submit_code(driver, wrong_code(TOTP_SECRET))
    refused = driver.find_elements(By.ID, "totp_token") and "Verification failed" in driver.page_source
    assert refused, "a wrong code was not refused: %s" % driver.current_url
    assert whoami(driver) is None, "logged in by a wrong code"

    submit_code(driver, totp_code(TOTP_SECRET))
    for url in (node_b.url, node_a.url, site.url):
        driver.get(url + site.series.home)
        state = page_state(driver, 30)
        if not state.startswith("logged in") or whoami(driver) != TESS:
            return "logged out: %s shows %s" % (url, state)
    return DONE


def totp(site, browsers):
    one_browser_flow(site, browsers, "totp", totp_flow)


# --- devices (18 and later) ---


def other_device_cards(driver):
    """The device cards of the preferences other than the current one."""
    return [
        card
        for card in driver.find_elements(By.CSS_SELECTOR, ".o_kanban_record")
        if card.find_elements(By.CSS_SELECTOR, "button[name=revoke]")
        and not card.find_elements(By.CSS_SELECTOR, ".o_status_green")
    ]


def devices_flow(site, first, second):
    """dave in two browsers; the first logs the second out from its
    preferences' device list; the second is then refused by every node."""
    for which, driver in (("first", first), ("second", second)):
        log_in(driver, site.url, DAVE)
        state = page_state(driver, 30)
        if not state.startswith("logged in"):
            return "logged out: the %s browser at %s" % (which, state)
    sid = second.get_cookie("session_id")["value"]
    for node in site.nodes:  # before: taken by each node
        second.get(node.url + site.series.home)
        state = page_state(second, 30)
        if not state.startswith("logged in"):
            return "logged out: the second browser on node %s at %s" % (node.url, state)

    click(first, ".o_user_menu .dropdown-toggle, .o_user_menu button")
    click(first, "[data-menu=settings], [data-menu=preferences]")  # 18, 19
    tab = wait_for(
        first, 60, By.XPATH, "//a[@role='tab'][normalize-space()='Devices' or normalize-space()='Security']"
    )
    if not isinstance(tab, list):
        return "logged out: the first browser's preferences show %s" % page_state(first, 5)
    tab[0].click()
    cards = shows(first, 30, other_device_cards)
    if not cards:
        return "logged out: no other device listed, %s" % page_state(first, 5)
    # The most recently active one: the second browser, which logged in last.
    cards[0].find_element(By.CSS_SELECTOR, "button[name=revoke]").click()
    password = shows(
        first, 30, lambda driver: driver.find_elements(By.CSS_SELECTOR, ".modal div[name=password] input")
    )
    if not password:
        return "logged out: no identity check, %s" % page_state(first, 5)
    password[0].send_keys(DAVE + PASSWORD)
    click(first, ".modal button[name=run_check]")
    gone = shows(
        first, 30, lambda driver: not driver.find_elements(By.CSS_SELECTOR, ".modal button[name=run_check]")
    )
    if not gone:
        return "logged out: the identity check stays open, %s" % page_state(first, 5)

    for node in site.nodes:
        # Its own cookie for each node: the login page a node answers
        # with may have handed it a new, anonymous one.
        second.add_cookie({"name": "session_id", "value": sid, "path": "/"})
        second.get(node.url + site.series.home)
        state = page_state(second, 30)
        if state != "login page":
            return "still logged in: the revoked browser on node %s shows %s" % (node.url, state)
    first.get(site.url + site.series.home)
    state = page_state(first, 30)
    if not state.startswith("logged in") or whoami(first) != DAVE:
        return "logged out: the first browser after the revocation, %s" % state
    screenshot(second, "devices-revoked", site)
    return DONE


def devices(site, browsers):
    first, second = browsers(), browsers()
    outcome = devices_flow(site, first, second)
    if outcome == DONE:
        screenshot(first, "devices", site)
    check(site, outcome, ("logged out", "still logged in"), first, "devices")
