"""Debian's headless Chromium driven by Selenium, and what the tests read
from Odoo's pages. Nothing is downloaded: the system's chromium and
chromedriver are used, and the tests that need them are skipped without."""

import shutil

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402, F401
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402, F401 (for the tests)
from selenium.webdriver.support.expected_conditions import element_to_be_clickable  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium")  # Debian's; Ubuntu's chromium-browser is a snap stub
CHROMEDRIVER = shutil.which("chromedriver")

needs_browser = pytest.mark.skipif(
    not (shutil.which("nginx") and CHROMIUM and CHROMEDRIVER),
    reason="needs nginx, chromium and chromedriver (Debian: nginx chromium chromium-driver)",
)

# What the page shows once it has settled, or null while it is loading.
PAGE_STATE_SCRIPT = """
if (document.querySelector('form.oe_login_form')) return 'login page';
if (/session expired/i.test(document.body.innerText)) return 'session expired';
var crumbs = document.querySelectorAll('.o_control_panel .breadcrumb li');
var loading = document.querySelector('.o_loading');
if (crumbs.length && document.querySelector('.o_user_menu')
        && !(loading && getComputedStyle(loading).display !== 'none'))
    return 'logged in: ' + crumbs[crumbs.length - 1].innerText.trim();
return null;
"""


def start_chromium(profile_dir):
    """A headless Chromium with its own profile (its own cookies)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        "--user-data-dir=%s" % profile_dir,
    ]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(90)
    driver.set_script_timeout(30)
    return driver


def page_state(driver, timeout):
    """The settled web client page: ``logged in: <breadcrumb>``, ``login
    page``, ``session expired`` or, when it never settles, ``no web client``."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(
            lambda driver: driver.execute_script(PAGE_STATE_SCRIPT)
        )
    except TimeoutException:
        return "no web client"


def detached(error):
    """Whether a WebDriver error says the element has left the page: Selenium's
    stale element, or the inspector error Chromium 156 answers instead when
    a navigation replaced the document while the element was read."""
    return isinstance(error, StaleElementReferenceException) or (
        isinstance(error, WebDriverException) and "does not belong to the document" in str(error)
    )


def replaced(element):
    """A wait condition, true once ``element`` has left the page (its
    document was replaced or re-rendered): Selenium's ``staleness_of``
    stopped the wait with Chromium's inspector error instead."""

    def gone(_driver):
        try:
            element.is_enabled()
        except WebDriverException as error:
            if detached(error):
                return True
            raise
        return False

    return gone


def reread(condition):
    """``condition`` for a wait that reads the page again when an element it
    read has left the page meanwhile (Odoo re-renders as it settles)."""

    def read(driver):
        try:
            return condition(driver)
        except WebDriverException as error:
            if detached(error):
                return False
            raise

    return read


def shows(driver, timeout, condition):
    """What ``condition`` returns once true within ``timeout`` seconds, or
    False. An element that leaves the page while it is read is read again."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(reread(condition))
    except TimeoutException:
        return False


def submit_login_form(driver, site_url, timeout, login="admin", password="admin"):
    """Log in through the form; return once the answer has replaced the
    login page (whatever that answer is)."""
    driver.get(site_url + "/web/login")
    form = WebDriverWait(driver, timeout).until(
        lambda driver: driver.find_element(By.CSS_SELECTOR, "form.oe_login_form")
    )
    # Odoo 16 and later show the form before their scripts have settled it.
    WebDriverWait(driver, timeout).until(element_to_be_clickable((By.ID, "login"))).send_keys(login)
    driver.find_element(By.ID, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, timeout).until(replaced(form))
