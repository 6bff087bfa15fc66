"""A user's sessions in Odoo's web client, in a real browser behind nginx
that sends each request to one of two Odoo nodes at random.

The database has ``session_redis`` installed (built once for this module).
The user whose sessions are listed logs in on each node directly, with its
own browser name and (through ``--proxy-mode``) its own address; what the
web client ends is then checked on both nodes over HTTP.
"""

import os
import uuid

import pytest
import requests

from session_redis.core.store import short_id
from tests.support.chrome import needs_browser, reread, submit_login_form
from tests.support.lb import Balancer, lessc_bin_dir, path_with_lessc
from tests.support.servers import REPO, OdooNode, drop_database

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = needs_browser

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Gecko/20100101 Firefox/60.0"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_4) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/11.1 Safari/605.1.15"
)
ROWS = ".o_session_redis_sessions tr.o_data_row"


@pytest.fixture(scope="module")
def sessions_database(tmp_path_factory):
    """A database with ``session_redis`` installed, and its filestore."""
    name = "session_redis_ui_%s" % uuid.uuid4().hex[:8]
    folder = str(tmp_path_factory.mktemp("ui-db"))
    run = OdooNode(name, folder, {}).run(
        "-i", "base,session_redis", "--without-demo=all", "--stop-after-init", timeout=600
    )
    assert run.returncode == 0, run.stdout[-5000:]
    yield name, os.path.join(folder, "filestore")
    drop_database(name)


@pytest.fixture(scope="module")
def lessc_path():
    bin_dir = lessc_bin_dir()
    if bin_dir is None:
        pytest.skip("Odoo 11's web client needs lessc: install npm")
    return path_with_lessc(bin_dir)


def start_node(database, folder, env, lessc):
    name, filestore = database
    env = dict(env, PATH=lessc)
    return OdooNode(name, folder, env, filestore=filestore, extra_args=["--proxy-mode"]).start()


@pytest.fixture(scope="module")
def site(sessions_database, redis_server, lessc_path, tmp_path_factory):
    """Nodes ``a`` and ``b`` sharing the private Redis, behind nginx."""
    folder = tmp_path_factory.mktemp("ui-site")
    env = {"ODOO_SESSION_REDIS": "1", "ODOO_SESSION_REDIS_URL": redis_server.url}
    nodes = []
    balancer = None
    try:
        nodes = [start_node(sessions_database, str(folder / name), env, lessc_path) for name in ("a", "b")]
        balancer = Balancer(str(folder / "nginx"), [node.port for node in nodes]).start()
        yield balancer, nodes
    finally:
        if balancer:
            balancer.stop()
        for node in nodes:
            node.stop()


def call(node, session_id, model, method, *args, **kwargs):
    """``model.method(*args, **kwargs)`` over JSON-RPC in that session."""
    params = {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
    body = node.json("/web/dataset/call_kw", params, session_id=session_id).json()
    assert "result" in body, body
    return body["result"]


def new_user(node):
    """A new internal user (login = password) created by admin."""
    login = "user_%s" % uuid.uuid4().hex[:6]
    values = {"name": login.title(), "login": login, "password": login}
    uid = call(node, node.login(), "res.users", "create", values, context={"no_reset_password": True})
    return uid, login


def log_in_from(node, login, user_agent, address):
    """Log ``login`` in on ``node`` from another machine and browser: the
    session id."""
    response = requests.post(
        node.url + "/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"db": node.database, "login": login, "password": login},
        },
        headers={
            "User-Agent": user_agent,
            "X-Forwarded-For": address,
            "X-Forwarded-Host": "odoo.example.com",
        },
        timeout=30,
    )
    assert response.json()["result"]["uid"], response.text
    return response.cookies["session_id"]


def logged_in_on(nodes, session_id):
    """Whether each node still knows the session as logged in."""
    return [bool((node.session_info(session_id) or {}).get("uid")) for node in nodes]


def browser_log_in(driver, site_url, login, password, timeout=120):
    """Log in through the login form; return once the web client is up."""
    submit_login_form(driver, site_url, timeout, login=login, password=password)
    WebDriverWait(driver, timeout).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, ".o_user_menu"))


def open_sessions_tab(driver, site_url, uid, timeout=60):
    """The user form of ``uid``, on its Sessions tab."""
    driver.get("about:blank")  # a new document, not a hash change the web client may ignore
    driver.get(site_url + "/web#action=base.action_res_users&model=res.users&view_type=form&id=%d" % uid)
    tab = WebDriverWait(driver, timeout).until(
        lambda driver: next(
            (
                link
                for link in driver.find_elements(By.CSS_SELECTOR, ".o_notebook a")
                if link.text == "Sessions"
            ),
            None,
        )
    )
    tab.click()


def rows(driver, count, timeout=30, within=""):
    """The session rows once there are ``count`` of them, as texts."""
    selector = (within + " " + ROWS).strip()

    def counted(driver):
        shown = [row.text for row in driver.find_elements(By.CSS_SELECTOR, selector) if row.is_displayed()]
        return (shown,) if len(shown) == count else None  # a tuple: an empty list is falsy

    # rows read while the list re-renders go stale: read them again
    return WebDriverWait(driver, timeout).until(reread(counted), "expected %d session rows" % count)[0]


def click(driver, selector, timeout=30):
    button = WebDriverWait(driver, timeout).until(
        lambda driver: next(
            (b for b in driver.find_elements(By.CSS_SELECTOR, selector) if b.is_displayed()), None
        )
    )
    button.click()


def screenshot(driver, name):
    os.makedirs(os.path.join(REPO, "artifacts"), exist_ok=True)
    path = os.path.join(REPO, "artifacts", name)
    assert driver.save_screenshot(path) and os.path.getsize(path) > 10000


@pytest.mark.timeout(300)
def test_admin_sees_a_users_sessions_and_ends_them_on_every_node(site, browser):  # noqa: F811
    balancer, (a, b) = site
    uid, login = new_user(a)
    first = log_in_from(a, login, FIREFOX, "203.0.113.5")
    second = log_in_from(b, login, SAFARI, "198.51.100.7")

    browser_log_in(browser, balancer.url, "admin", "admin")
    open_sessions_tab(browser, balancer.url, uid)
    shown = rows(browser, 2)
    assert (
        short_id(first) in shown[0] and "203.0.113.5" in shown[0] and "firefox 60.0 on linux" in shown[0]
    ), shown
    assert first[:8] not in shown[0], "an id, even in part, is a credential: a hash is shown"
    assert (
        short_id(second) in shown[1] and "198.51.100.7" in shown[1] and "safari 11.1 on macos" in shown[1]
    ), shown
    assert first not in browser.page_source and second not in browser.page_source

    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, ROWS) if short_id(first) in r.text)
    row.find_element(By.CSS_SELECTOR, "button.o_session_redis_end").click()
    assert short_id(second) in rows(browser, 1)[0]
    assert logged_in_on([a, b], first) == [False, False]
    assert logged_in_on([a, b], second) == [True, True]

    click(browser, "button.o_session_redis_logout_everywhere")
    click(browser, ".modal-footer .btn-primary")  # "End every session of this user?"
    rows(browser, 0)
    assert logged_in_on([a, b], second) == [False, False]
    assert len(balancer.requests_per_node()) == 2  # the web client's calls went to both nodes
    screenshot(browser, "sessions-admin.png")


@pytest.mark.timeout(300)
def test_a_user_logs_out_their_other_sessions_in_preferences(site, browser):  # noqa: F811
    balancer, (a, b) = site
    _uid, login = new_user(a)
    other = log_in_from(b, login, FIREFOX, "203.0.113.9")

    browser_log_in(browser, balancer.url, login, login)
    current = browser.get_cookie("session_id")["value"]
    click(browser, ".o_user_menu > a")
    click(browser, ".o_user_menu a[data-menu=settings]")
    shown = rows(browser, 2, within=".modal")
    assert any(short_id(other) in row and "203.0.113.9" in row for row in shown), shown
    assert any(short_id(current) in row for row in shown), shown

    click(browser, ".modal button.o_session_redis_logout_others")
    assert short_id(current) in rows(browser, 1, within=".modal")[0]
    assert logged_in_on([a, b], other) == [False, False]
    assert logged_in_on([a, b], current) == [True, True]
    browser.execute_script(
        "arguments[0].scrollIntoView()",
        browser.find_element(By.CSS_SELECTOR, ".modal .o_session_redis_sessions"),
    )
    screenshot(browser, "sessions-preferences.png")


@pytest.mark.timeout(300)
def test_with_sessions_in_files_the_form_says_so(sessions_database, lessc_path, browser, tmp_path):  # noqa: F811
    node = start_node(sessions_database, str(tmp_path / "files"), {}, lessc_path)
    try:
        browser_log_in(browser, node.url, "admin", "admin")
        open_sessions_tab(browser, node.url, 1)
        message = WebDriverWait(browser, 30).until(
            lambda driver: next(
                (
                    m
                    for m in driver.find_elements(By.CSS_SELECTOR, ".o_session_redis_unavailable")
                    if m.is_displayed()
                ),
                None,
            )
        )
        assert "not kept in Redis" in message.text
        assert not [b for b in browser.find_elements(By.CSS_SELECTOR, ROWS) if b.is_displayed()]
        assert not browser.find_elements(By.CSS_SELECTOR, ".o_dialog_warning, .o_error_detail")
        screenshot(browser, "sessions-files.png")
    finally:
        node.stop()
