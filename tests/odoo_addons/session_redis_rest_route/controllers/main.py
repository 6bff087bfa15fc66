"""base_rest serves the services of a collection under a root path."""

from odoo.addons.base_rest.controllers import main


class SessionRedisTestRestController(main.RestController):
    _root_path = "/session_redis_test/rest/"
    _collection_name = "session_redis_test.rest.services"
    _default_auth = "user"
