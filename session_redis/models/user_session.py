"""One row per live session of a user, built from the store's per-user index
each time a form shows it.

The rows are throwaway (a ``TransientModel``) and hold only a short hash
of the session id (the logs' name for it): an id, even in part, is a bearer
secret and never leaves Redis. Ending a session finds it again in the index
by that short hash.

Who may do what is checked here, in code: Odoo 11 applies no access-control
list to transient models, only "each user reads the rows they created".
Managers of users (``base.group_erp_manager``, who can already change a
user's password and groups) may end anyone's sessions; every user may end
their own.
"""

import datetime
import logging

from odoo import _, api, fields, http, models
from odoo.exceptions import AccessError, UserError

from .. import series
from ..core.client import REDIS_ERRORS, error_text
from ..core.store import short_id

_logger = logging.getLogger(__name__)

SHORT_ID = 12  # characters of core.store.short_id
# Rows shown per user, the newest: a user who logged in 20,000 times must not
# make a manager's user form build 20,000 rows (ODOO_SESSION_REDIS_MAX_SESSIONS_PER_USER
# bounds the sessions themselves).
SHOWN_SESSIONS = 100
MANAGERS = "base.group_erp_manager"


class Unavailable(Exception):
    """The sessions cannot be listed or ended now; the text says why."""


def redis_store():
    """The Redis session store of this server, or :class:`Unavailable`."""
    store = series.redis_store()
    if store is None:
        raise Unavailable(
            _(
                "Sessions are not kept in Redis on this server (session_redis is not loaded "
                "server-wide, or ODOO_SESSION_REDIS is off): they cannot be listed here."
            )
        )
    return store


def redis_call(call, *args, **kwargs):
    """``call`` on the store, a Redis failure turned into :class:`Unavailable`."""
    try:
        return call(*args, **kwargs)
    except REDIS_ERRORS as error:
        _logger.warning("user sessions: Redis unavailable: %s", error_text(error))
        raise Unavailable(_("Redis does not answer: sessions cannot be listed or ended right now."))


def current_sid():
    """The session id of the request being served, if any."""
    request = http.request
    return request.session.sid if request and request.session else None


def utc(timestamp):
    """A Unix time as Odoo's datetime string (UTC), or False."""
    if not timestamp:
        return False
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return fields.Datetime.to_string(moment.replace(tzinfo=None))  # Odoo's fields are naive UTC


def check_may_manage(env, user):
    """Only managers of users, or the user themselves, touch ``user``'s sessions."""
    if env.user != user and not env.user.has_group(MANAGERS):
        raise AccessError(_("Only managers of users may end another user's sessions."))


class UserSession(models.TransientModel):
    _name = "session_redis.user.session"
    _description = "Session of a user"
    _order = "created, id"

    user_id = fields.Many2one("res.users", string="User", required=True, ondelete="cascade", readonly=True)
    short_id = fields.Char("Session", readonly=True, help="A short hash of the session id.")
    created = fields.Datetime("Logged in", readonly=True)
    last_activity = fields.Datetime("Last activity", readonly=True)
    expires = fields.Datetime("Expires", readonly=True)
    ip = fields.Char("IP address", readonly=True)
    browser = fields.Char("Browser", readonly=True)
    is_current = fields.Boolean("This browser", readonly=True)

    @api.model
    def rows_for(self, user):
        """New rows for ``user``'s live sessions in this database (may raise
        :class:`Unavailable`)."""
        store = redis_store()
        sessions = redis_call(store.user_sessions, self.env.cr.dbname, user.id)[-SHOWN_SESSIONS:]
        now, mine = store.clock(), current_sid()
        rows = self.browse()
        for session in sessions:
            info = session.login_info
            rows |= self.create(
                {
                    "user_id": user.id,
                    "short_id": short_id(session.entry),
                    "created": utc(session.created),
                    "last_activity": utc(session.touched),
                    "expires": utc(now + session.expires_in) if session.expires_in > 0 else False,
                    "ip": info.get("ip"),
                    "browser": info.get("browser"),
                    "is_current": bool(mine) and store.same_session(session.entry, mine),
                }
            )
        return rows

    def action_end(self):
        """End these sessions on every node: their keys and index entries go."""
        try:
            store = redis_store()
            for row in self:
                check_may_manage(self.env, row.user_id)
                if len(row.short_id or "") != SHORT_ID:
                    continue  # not a row this model built: match nothing rather than everything
                db, uid = self.env.cr.dbname, row.user_id.id
                matches = [
                    session.entry
                    for session in redis_call(store.user_sessions, db, uid)
                    if short_id(session.entry) == row.short_id
                ]
                if len(matches) == 1:  # gone already, or (never seen) ambiguous: nothing to end
                    redis_call(store.delete_many, matches, [(db, uid)])
        except Unavailable as error:
            raise UserError(str(error))
