"""The Odoo 11 apps production sites run, in a template database.

Built once per test run (installing the apps takes about a minute), then
copied with ``createdb -T`` for each test that changes it. Without demo
data (Odoo 11's YAML demo files do not load with the PyYAML 6 of
``.venv``): the few records the flows need are written by ``SETUP``
through ``odoo shell``. No wkhtmltopdf here: the order confirmation is
mailed without its PDF.
"""

from tests.support.servers import OdooNode

APPS = "website_sale,im_livechat,website_livechat,portal,payment_transfer"

# Users (password = login) and products SETUP creates; admin is the
# live chat operator.
EMPLOYEE = "bob"
PORTAL = "portal"
PRODUCTS = ("Desk Lamp", "Office Chair")

SETUP = """
admin = env.ref("base.user_root")
admin.partner_id.email = "admin@example.com"
env.ref("base.main_company").country_id = env.ref("base.us")
users = env["res.users"].with_context(no_reset_password=True)
users.create({"name": "Bob Employee", "login": "bob", "password": "bob", "email": "bob@example.com",
              "groups_id": [(6, 0, [env.ref("base.group_user").id])]})
portal = users.create({"name": "Paula Portal", "login": "portal", "password": "portal",
                       "email": "portal@example.com",
                       "groups_id": [(6, 0, [env.ref("base.group_portal").id])]})
lamp, chair = [env["product.template"].create({"name": name, "list_price": price, "type": "consu",
                                               "website_published": True})
               for name, price in (("Desk Lamp", 25.0), ("Office Chair", 120.0))]
order = env["sale.order"].create({"partner_id": portal.partner_id.id, "order_line": [
    (0, 0, {"product_id": lamp.product_variant_id.id, "product_uom_qty": 3})]})
order.action_confirm()
env.ref("website_livechat.im_livechat_channel_data_website").user_ids = [(4, admin.id)]
# the order mailed at payment would attach a PDF, which needs wkhtmltopdf
env.ref("sale.email_template_edi_sale").report_template = False
env.cr.commit()
print("apps setup done")
"""


def make_apps_database(name, folder):
    """Create ``name`` with the apps installed and the records of SETUP."""
    node = OdooNode(name, folder, {})
    install = node.run("-i", APPS, "--without-demo=all", "--stop-after-init", timeout=900)
    if install.returncode != 0:
        raise RuntimeError("installing %s failed:\n%s" % (APPS, install.stdout[-5000:]))
    output = node.shell(SETUP)
    if "apps setup done" not in output:
        raise RuntimeError("setting up %s failed:\n%s" % (name, output[-5000:]))
