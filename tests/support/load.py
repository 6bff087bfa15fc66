"""What the load tests of every series share: users to log in as, JSON-RPC
over a client's own cookies, anonymous shoppers, and a record of latencies
and failures."""

import json
import random
import re
import threading
import time

import requests

# The cart count in a shop page's header (Odoo 11 to 19).
CART = re.compile(r'class="my_cart_quantity[^"]*"[^>]*>\s*(\d*)\s*<')


def create_users(node, admin_sid, count):
    """``count`` users, so that each client's session holds its own user."""
    logins = []
    for number in range(count):
        login = "load%d_%d" % (number, random.randrange(10**6))
        response = node.json(
            "/web/dataset/call_kw",
            {
                "model": "res.users",
                "method": "create",
                "kwargs": {},
                "args": [{"name": login, "login": login, "password": login}],
            },
            session_id=admin_sid,
        )
        assert "result" in response.json(), response.text
        logins.append(login)
    return logins


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def jsonrpc(http, url, params):
    return http.post(
        url,
        data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}),
        headers={"Content-Type": "application/json"},
        timeout=70,
    )


class Record(object):
    """Latencies per kind of request (``kinds``), and what went wrong."""

    def __init__(self, *kinds):
        self.lock = threading.Lock()
        self.latencies = {kind: [] for kind in kinds}
        self.failures = []

    def timed(self, kind, call, *args, **kwargs):
        started = time.monotonic()
        response = call(*args, **kwargs)
        with self.lock:
            self.latencies[kind].append(time.monotonic() - started)
            if response.status_code >= 500:
                self.failures.append("HTTP %d on %s" % (response.status_code, response.url))
        return response

    def took(self, kind, seconds):
        with self.lock:
            self.latencies[kind].append(seconds)

    def fail(self, what):
        with self.lock:
            self.failures.append(what)


def shop_pages(product_page):
    """What a shopper browses: the shop, the cart, the home page and
    ``product_page`` (the page of the product in the cart)."""
    return ["/shop", "/shop/cart", "/", product_page]


def shopper(site, product_id, product_page, deadline, record):
    """Puts product ``product_id`` (a variant's id) in the cart, then
    browses until ``deadline``; every page must count it in the cart."""
    http = requests.Session()
    added = jsonrpc(http, site + "/shop/cart/update_json", {"product_id": product_id, "add_qty": 1})
    assert added.json()["result"]["cart_quantity"] == 1, added.text[:500]
    pages = shop_pages(product_page)
    while time.monotonic() < deadline:
        page = record.timed("http", http.get, site + random.choice(pages), timeout=30)
        found = CART.search(page.text)
        if not found or found.group(1) != "1":
            record.fail("a shopper lost the cart on %s" % page.url)


def warm_up(nodes, product_page):
    """Render each page once per worker first: the first render of a page
    compiles its templates and stylesheets, which is not what is measured."""
    for node in nodes:
        for path in (shop_pages(product_page) + ["/web/login"]) * 3:
            requests.get(node.url + path, timeout=120)
