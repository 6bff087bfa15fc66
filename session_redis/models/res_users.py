"""A user's sessions on the user form (for managers of users) and in the
user's own Preferences, with the buttons that end them."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import convert_file

from .. import series
from .user_session import MANAGERS, Unavailable, check_may_manage, current_sid, redis_call, redis_store


class Users(models.Model):
    _inherit = "res.users"

    session_redis_session_ids = fields.One2many(
        "session_redis.user.session",
        "user_id",
        string="Sessions",
        compute="_compute_session_redis_sessions",
        readonly=True,
    )
    session_redis_status = fields.Char(
        "Sessions unavailable",
        compute="_compute_session_redis_sessions",
        readonly=True,
        help="Why the sessions cannot be listed; empty when they can.",
    )

    @api.model
    def _session_redis_load_views(self):
        """Load the sessions UI (``data/views.xml`` calls this at install
        and update): Odoo 11's views. Odoo 16 and later name their view
        types and conditions otherwise; there, Odoo 18's own Devices list
        and ``odoo session_redis sessions`` show a user's sessions."""
        if series.MAJOR < 16:
            convert_file(
                self.env.cr, "session_redis", "views/res_users_views.xml", {}, "update", False, "data"
            )

    @api.depends()
    def _compute_session_redis_sessions(self):
        """Read from Redis each time: sessions come and go on every node.

        Every row is created before any value is assigned: creating a row
        invalidates the cached sessions of the users computed so far."""
        rows = self.env["session_redis.user.session"]
        manager = self.env.user.has_group(MANAGERS)
        values = {}
        for user in self:
            values[user] = (rows, False)
            if manager or user == self.env.user:
                try:
                    values[user] = (rows.rows_for(user), False)
                except Unavailable as error:
                    values[user] = (rows, str(error))
        for user, (sessions, status) in values.items():
            user.session_redis_session_ids = sessions
            user.session_redis_status = status

    def action_session_redis_logout_everywhere(self):
        """End every session of these users, on every node. A manager's own
        current session is kept: the browser that clicks stays logged in."""
        if not self.env.user.has_group(MANAGERS):
            raise AccessError(_("Only managers of users may log a user out everywhere."))
        self._session_redis_end(keep=current_sid())

    def action_session_redis_logout_others(self):
        """End the user's sessions other than the current one, then show
        Preferences again (a button in a dialog closes it otherwise)."""
        for user in self:
            if user != self.env.user:
                raise AccessError(_("Only the user may log out their own other sessions."))
        self._session_redis_end(keep=current_sid())
        return dict(self.action_get().read()[0], res_id=self.env.user.id)

    def _session_redis_end(self, keep):
        try:
            store = redis_store()
            for user in self:
                check_may_manage(self.env, user)
                redis_call(store.end_user_sessions, self.env.cr.dbname, user.id, keep=keep)
        except Unavailable as error:
            raise UserError(str(error))
