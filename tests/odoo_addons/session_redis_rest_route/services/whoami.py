"""The user of the session a REST client logged in with."""

from odoo.addons.base_rest import restapi
from odoo.addons.component.core import Component


class WhoAmIService(Component):
    _inherit = "base.rest.service"
    _name = "session_redis_test.whoami.service"
    _usage = "whoami"
    _collection = "session_redis_test.rest.services"
    _description = "The user of the session"

    @restapi.method([(["/"], "GET")], auth="user")
    def whoami(self):
        return {"uid": self.env.uid, "login": self.env.user.login}
