"""The user a JWT bearer token stands for (the validator named
``session_redis_test``, which auth_jwt turns into the ``jwt_session_redis_test``
authentication method)."""

import json

from odoo.http import Controller, Response, request, route


class JwtRoute(Controller):
    @route(
        "/session_redis_test/jwt/whoami",
        type="http",
        auth="jwt_session_redis_test",
        methods=["GET"],
        csrf=False,
        save_session=False,
    )
    def whoami(self):
        body = {"uid": request.env.uid, "login": request.env.user.login}
        return Response(json.dumps(body), content_type="application/json")
