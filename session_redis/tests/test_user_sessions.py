"""The user's sessions as the database part of the addon shows and ends
them, on the real Redis store of the running server (``-i session_redis
--test-enable`` with the addon switched on)."""

import socket
import tempfile

import redis
from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.tests import common
from werkzeug.contrib.sessions import FilesystemSessionStore

from ..core.store import LOGIN_INFO, RedisSessionStore, short_id


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@common.at_install(False)
@common.post_install(True)
class TestUserSessions(common.TransactionCase):
    hash_ids = False

    def setUp(self):
        super().setUp()
        self.store = http.root.session_store
        self.assertIsInstance(self.store, RedisSessionStore)
        self.addCleanup(setattr, self.store, "hash_ids", self.store.hash_ids)
        self.store.hash_ids = self.hash_ids
        self.db = self.env.cr.dbname
        Users = self.env["res.users"].with_context(no_reset_password=True)
        employee = self.env.ref("base.group_user")
        self.bob = Users.create({"name": "Bob", "login": "bob_sessions", "groups_id": [(6, 0, employee.ids)]})
        self.sids = [self.login(self.bob, "10.0.0.%d" % n, "Browser %d" % n) for n in (1, 2)]
        self.addCleanup(self.store.end_user_sessions, self.db, self.bob.id)

    def login(self, user, ip, browser):
        session = self.store.new()
        session.update(
            db=self.db, uid=user.id, login=user.login, **{LOGIN_INFO: {"ip": ip, "browser": browser}}
        )
        self.store.save(session)
        return session.sid

    def stored(self):
        """The ids of ``self.sids`` whose sessions the index still lists."""
        listed = {session.entry for session in self.store.user_sessions(self.db, self.bob.id)}
        return [sid for sid in self.sids if self.store.entry(sid) in listed]

    def use_store(self, store):
        self.addCleanup(setattr, http.root, "session_store", http.root.session_store)
        http.root.session_store = store

    def test_a_manager_sees_the_sessions_without_their_full_ids(self):
        rows = self.bob.session_redis_session_ids
        self.assertFalse(self.bob.session_redis_status)
        # two logins in the same millisecond: compare without their order
        self.assertEqual(sorted(rows.mapped("short_id")), sorted(short_id(sid) for sid in self.sids))
        self.assertEqual(sorted(rows.mapped("ip")), ["10.0.0.1", "10.0.0.2"])
        self.assertEqual(sorted(rows.mapped("browser")), ["Browser 1", "Browser 2"])
        self.assertTrue(all(rows.mapped("created")) and all(rows.mapped("last_activity")))
        self.assertTrue(all(rows.mapped("expires")))
        shown = str(rows.read())
        self.assertFalse([sid for sid in self.sids if sid[:8] in shown])

    def test_ending_one_session_keeps_the_other(self):
        row = self.bob.session_redis_session_ids[0]
        ended, kept = sorted(self.sids, key=lambda sid: short_id(sid) != row.short_id)
        row.action_end()
        self.assertEqual(self.stored(), [kept])
        self.assertEqual(self.store.redis.exists(self.store.key(ended)), 0)

    def test_a_row_with_a_forged_short_id_ends_nothing(self):
        self.store.delete_many([self.sids[0]], [(self.db, self.bob.id)])
        forged = self.env["session_redis.user.session"].create({"user_id": self.bob.id, "short_id": ""})
        forged.action_end()  # "" is the start of every id
        self.assertEqual(self.stored(), [self.sids[1]])

    def test_logout_everywhere_ends_every_session(self):
        self.bob.action_session_redis_logout_everywhere()
        self.assertEqual(self.stored(), [])
        self.assertFalse(self.bob.session_redis_session_ids)

    def test_a_user_sees_only_their_own_sessions_and_ends_no_one_elses(self):
        bob_env = self.bob.sudo(self.bob)
        self.assertEqual(len(bob_env.session_redis_session_ids), 2)
        admin = self.env.ref("base.user_root").sudo(self.bob)
        self.assertFalse(admin.session_redis_session_ids)
        with self.assertRaises(AccessError):
            admin.action_session_redis_logout_others()
        with self.assertRaises(AccessError):
            bob_env.action_session_redis_logout_everywhere()
        self.assertEqual(len(self.stored()), 2)

    def test_a_user_logs_out_their_other_sessions(self):
        action = self.bob.sudo(self.bob).action_session_redis_logout_others()
        self.assertEqual(self.stored(), [])  # no request here: none of them is current
        self.assertEqual(action["res_id"], self.bob.id)  # Preferences shown again

    def test_redis_unreachable_is_a_message_not_an_error(self):
        client = redis.Redis(port=closed_port(), socket_connect_timeout=1, socket_timeout=1)
        self.use_store(RedisSessionStore(client, http.OpenERPSession))
        self.assertIn("Redis does not answer", self.bob.session_redis_status)
        self.assertFalse(self.bob.session_redis_session_ids)
        with self.assertRaises(UserError):
            self.bob.action_session_redis_logout_everywhere()

    def test_sessions_in_files_are_a_message_not_an_error(self):
        folder = tempfile.mkdtemp()
        self.use_store(FilesystemSessionStore(folder, session_class=http.OpenERPSession))
        self.assertIn("not kept in Redis", self.bob.session_redis_status)
        with self.assertRaises(UserError):
            self.bob.action_session_redis_logout_everywhere()


@common.at_install(False)
@common.post_install(True)
class TestUserSessionsHashed(TestUserSessions):
    """The same with ``ODOO_SESSION_REDIS_HASH_IDS``: the index lists hashes,
    the rows show the same short hash, ending one still finds it."""

    hash_ids = True

    def test_the_index_lists_hashes_only(self):
        listed = [session.entry for session in self.store.user_sessions(self.db, self.bob.id)]
        self.assertEqual(sorted(listed), sorted(self.store.entry(sid) for sid in self.sids))
        self.assertFalse(set(listed) & set(self.sids))
