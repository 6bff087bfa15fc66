"""A SAML identity provider for the tests, run in an Odoo 16+ series'
Python: OCA auth_saml's own test IdP (pysaml2, with the addon's test keys).

Reads ``{"metadata": <the service provider's metadata>, "url": <the IdP
address Odoo redirected the browser to>}`` as JSON on stdin, logs the user
in at once and prints ``{"SAMLResponse": ..., "RelayState": ...}``: the form
the browser would post back to Odoo's ``/auth_saml/signin``.
"""

import html
import json
import sys

import odoo  # noqa: F401  (odoo.addons must exist before the addon is imported)
from odoo.addons.auth_saml.tests import fake_idp


def main():
    asked = json.load(sys.stdin)
    form = fake_idp.FakeIDP([asked["metadata"]]).fake_login(asked["url"])._unpack()
    # the values come from an HTML form: attribute-escaped
    print(json.dumps({name: html.unescape(value) for name, value in form.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
