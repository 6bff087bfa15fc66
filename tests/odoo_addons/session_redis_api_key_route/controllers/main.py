"""The user an API key stands for: what a key-authenticated client of an
integration would ask."""

import json

from odoo.http import Controller, Response, request, route


class ApiKeyRoute(Controller):
    @route("/session_redis_test/api_key/whoami", type="http", auth="api_key", methods=["GET"], csrf=False)
    def whoami(self):
        body = {"uid": request.env.uid, "login": request.env.user.login}
        return Response(json.dumps(body), content_type="application/json")
