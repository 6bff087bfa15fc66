"""What a user's login, new password and archiving do to sessions, on
every Odoo generation.

A login records the client's address and browser in the session (shown by
the sessions UI and ``odoo session_redis sessions``). A new password, set
by the user or an admin, and archiving a user end the user's other sessions
in Redis at once: Odoo already refuses them (the session token covers the
password hash), but their keys would stay until they expire. The session of
the request itself is kept.
"""

import logging

from odoo import http

from . import series
from .core.client import REDIS_ERRORS, error_text
from .core.store import LOGIN_INFO

_logger = logging.getLogger(__name__)


def record_login(session):
    """Record who logged in, once, in the session."""
    request = http.request
    if request:
        session[LOGIN_INFO] = series.client_of(request.httprequest)


def ending_sessions(write):
    """Wrap ``res.users.write`` (see the module's docstring)."""

    def write_and_end_sessions(users, values):
        result = write(users, values)
        # any false value archives: False, but also 0 or "" from an RPC client
        if "password" in values or ("active" in values and not values["active"]):
            end_sessions_of(users)
        return result

    return write_and_end_sessions


def end_sessions_of(users):
    """End the sessions of ``users`` in Redis, except the request's own."""
    store = series.redis_store()
    if store is None:
        return
    request = http.request
    current = request.session if request else None
    db = users.env.cr.dbname
    try:
        for user in users:
            keep = current.sid if current and (current.db, current.uid) == (db, user.id) else None
            store.end_user_sessions(db, user.id, keep=keep)
    except REDIS_ERRORS as error:
        _logger.warning(
            "sessions of users %s not ended, Redis unavailable (Odoo refuses them anyway): %s",
            users.ids,
            error_text(error),
        )
