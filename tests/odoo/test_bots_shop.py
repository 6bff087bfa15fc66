"""On a shop (website_sale), a visitor's session is written only once it
holds something: browsing writes nothing, yet the website form and the
anonymous cart work from the first request, their CSRF tokens derived from
an id that was never stored; the same as with files."""

import json
import re

import psycopg2
import pytest
import requests
from odoo.http import OpenERPSession

from session_redis.core.store import RedisSessionStore
from tests.support.apps import PRODUCTS
from tests.support.lb import lessc_bin_dir, path_with_lessc
from tests.support.servers import NodeFactory


@pytest.fixture
def shop_nodes(apps_database, redis_server, tmp_path):
    """Threaded nodes on a fresh copy of the apps database."""
    factory = NodeFactory(apps_database, redis_server, str(tmp_path))
    yield factory
    factory.stop_all()


def product_id(database, name):
    with psycopg2.connect(dbname=database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pp.id FROM product_product pp JOIN product_template pt ON pt.id = pp.product_tmpl_id"
            " WHERE pt.name = %s",
            (name,),
        )
        return cursor.fetchone()[0]


def csrf_token(page):
    return re.search(r'csrf_token: "([^"]+)"', page).group(1)


def cart_quantity(page):
    found = re.search(r'class="my_cart_quantity[^"]*"[^>]*>([^<]*)<', page)
    return found.group(1).strip() if found else None


@pytest.mark.parametrize("redis", [True, False], ids=["redis", "files"])
def test_website_form_and_cart_work_for_a_visitor_whose_session_was_never_stored(
    shop_nodes, redis_client, redis
):
    bin_dir = lessc_bin_dir()
    node = shop_nodes(redis=redis, env={"PATH": path_with_lessc(bin_dir)} if bin_dir else {})
    store = RedisSessionStore(redis_client, OpenERPSession)
    visitor = requests.Session()
    pages = [visitor.get(node.url + path, timeout=120) for path in ("/", "/shop", "/shop")]
    assert [page.status_code for page in pages] == [200, 200, 200]
    if redis:
        assert store.list() == [], "browsing wrote a session"
    token = csrf_token(pages[-1].text)

    form = visitor.post(
        node.url + "/website_form/res.partner",
        data={"name": "Vera Visitor", "email": "vera@example.com", "csrf_token": token},
        timeout=60,
    )
    assert form.status_code == 200 and json.loads(form.text)["id"] > 0, form.text[:500]

    added = visitor.post(
        node.url + "/shop/cart/update",
        data={"product_id": product_id(node.database, PRODUCTS[0]), "add_qty": "2", "csrf_token": token},
        timeout=60,
    )
    assert added.status_code == 200, added.text[:500]
    for _ in range(3):
        cart = visitor.get(node.url + "/shop/cart", timeout=60)
        assert PRODUCTS[0] in cart.text and cart_quantity(cart.text) == "2"
    if redis:
        (sid,) = store.list()
        assert sid == visitor.cookies["session_id"] and store.get(sid).get("sale_order_id")
