"""The Odoo 16-19 apps sites run, in one database per series: Discuss,
two-factor login, the shop and the website's live chat (MODULES) on a copy
of the series' ``base,web`` database, with the users, products, portal
order and live chat operator that SETUP writes through ``odoo shell``.
Built at most once per series and test run (42 s on 18); the browser flows
and the load test use it."""

import base64
import json
import os
import time

import psycopg2

from tests.support.servers import OdooNode

MODULES = "mail,auth_totp,website_sale,website_livechat"
# Users SETUP creates (password: login + PASSWORD); admin's is "admin".
PASSWORD = "-Pass-4567"
ALICE, BOB, TESS, DAVE = "alice", "bob", "tess", "dave"
PAULA = "paula"  # a portal customer with an order
PRODUCTS = ("Desk Lamp", "Office Chair")
TOTP_SECRET = base64.b32encode(os.urandom(20)).decode("ascii")  # 160 bits, as Odoo makes them

SETUP = """
import json
users = env["res.users"].with_context(no_reset_password=True)
made = {
    login: users.create({"name": login.capitalize(), "login": login, "password": login + %(password)r,
                         "email": login + "@example.com"})
    for login in %(logins)r
}

def chat(login, other):
    Channel = env["discuss.channel" if "discuss.channel" in env else "mail.channel"].with_user(made[login])
    # 16-18 name it channel_get (16 answers a dict), 19 _get_or_create_chat
    get = getattr(Channel, "channel_get", None) or Channel._get_or_create_chat
    found = get([made[other].partner_id.id])
    return found["id"] if isinstance(found, dict) else found.id

chat_id = chat("bob", "alice")
assert chat("alice", "bob") == chat_id  # pinned on both sides: in each one's sidebar
made["tess"].sudo().totp_secret = %(secret)r
# OdooBot's welcome chat (at a user's first web client) would take over
# Discuss from the chat the flow opened
if "odoobot_state" in users._fields:
    for user in made.values():
        user.odoobot_state = "disabled"

# The shop: two products, free (the sources here hold no payment provider
# that installs, and a free order is confirmed without one); a portal
# customer with a confirmed order; admin as the website's live chat operator.
env.ref("base.main_company").country_id = env.ref("base.be")
env.ref("base.user_admin").partner_id.email = "admin@example.com"
Product = env["product.template"]
published = "is_published" if "is_published" in Product._fields else "website_published"
products = {name: Product.create({"name": name, "list_price": 0.0, "type": "consu", "sale_ok": True,
                                  published: True}).id
            for name in %(products)r}
groups = "group_ids" if "group_ids" in users._fields else "groups_id"  # 19 renamed it
portal = users.create({"name": "Paula Portal", "login": %(portal)r, "password": %(portal)r + %(password)r,
                       "email": "paula@example.com", groups: [(6, 0, [env.ref("base.group_portal").id])]})
lamp = Product.browse(products[%(products)r[0]]).product_variant_id
order = env["sale.order"].create({"partner_id": portal.partner_id.id, "order_line": [
    (0, 0, {"product_id": lamp.id, "product_uom_qty": 3})]})
order.action_confirm()
env.ref("im_livechat.im_livechat_channel_data").user_ids = [(4, env.ref("base.user_admin").id)]
# the mail sent when an order is confirmed would attach a PDF, and there is no wkhtmltopdf here
for xmlid in ("sale.mail_template_sale_confirmation", "sale.email_template_edi_sale"):
    template = env.ref(xmlid, raise_if_not_found=False)
    for field in ("report_template_ids", "report_template"):
        if template and field in template._fields:
            template[field] = False
env.cr.commit()
variants = {name: Product.browse(id).product_variant_id.id for name, id in products.items()}
result = {"chat": chat_id, "products": products, "variants": variants, "order": order.name}
print("SETUP " + json.dumps(result))
"""


class Database(object):
    """A series' apps database and what SETUP made in it: the chat's id,
    the products' template and variant ids by name, the portal customer's
    order."""

    def __init__(self, name, filestore, made):
        self.name = name
        self.filestore = filestore
        self.chat = made["chat"]
        self.products = made["products"]
        self.variants = made["variants"]
        self.order = made["order"]

    def query(self, sql, *args):
        with psycopg2.connect(dbname=self.name) as connection, connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()


def make_series_apps_database(series, base, folder):
    """Install MODULES in ``base`` (a copy of the series' ``base,web``
    database) and write SETUP's records; returns the :class:`Database`."""
    node = OdooNode(base.name, folder, {}, filestore=base.filestore, series=series, server_wide="base,web")
    started = time.monotonic()
    done = node.run("-i", MODULES, "--without-demo=all", "--stop-after-init", timeout=600)
    assert done.returncode == 0, done.stdout[-5000:]
    script = SETUP % {
        "password": PASSWORD,
        "logins": (ALICE, BOB, TESS, DAVE),
        "secret": TOTP_SECRET,
        "portal": PAULA,
        "products": PRODUCTS,
    }
    output = node.shell(script, "--no-http")
    lines = [line for line in output.splitlines() if line.startswith("SETUP ")]
    assert lines, output[-5000:]
    print("Odoo %s: %s and the users in %.0f s" % (series, MODULES, time.monotonic() - started))
    return Database(base.name, base.filestore, json.loads(lines[0][len("SETUP ") :]))
