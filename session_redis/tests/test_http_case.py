"""Odoo's own HttpCase helpers on top of the Redis session store.

Run by Odoo (``-i session_redis --test-enable``) with the addon switched
on; the pytest suite starts that run and checks its outcome.
"""

import odoo
from odoo.tests import common

from ..core.store import RedisSessionStore
from ..odoo11.patch import no_session_gc


@common.at_install(False)
@common.post_install(True)
class TestHttpCaseSessions(common.HttpCase):
    def rpc(self, path):
        url = "http://%s:%s%s" % (common.HOST, common.PORT, path)
        return self.opener.post(url, json={"jsonrpc": "2.0", "method": "call", "params": {}}).json()

    def test_store_is_redis(self):
        store = odoo.http.root.session_store
        self.assertIsInstance(store, RedisSessionStore)
        # HttpCase's own session holds only Odoo's defaults until a login: not written
        self.assertEqual(store.redis.exists(store.key(self.session_id)), 0)
        self.authenticate("admin", "admin")
        self.assertEqual(store.redis.exists(store.key(self.session_id)), 1)
        self.assertIs(odoo.http.session_gc, no_session_gc)

    def test_authenticate_then_request(self):
        self.authenticate("admin", "admin")
        info = self.rpc("/web/session/get_session_info")["result"]
        self.assertEqual(info["username"], "admin")
        self.assertEqual(info["session_id"], self.session_id)
