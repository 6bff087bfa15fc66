"""Odoo 11 glue for other addons that reach into the session store.

OCA's ``auth_session_timeout`` (11.0) gets its idle time from Redis
(:mod:`session_redis.idle_timeout`). A login also starts the session's
activity record, as with files it rewrites the session file whose time the
addon reads: the idle clock of a login starts at the login.
"""

import odoo

from .. import idle_timeout, series


def install():
    """Wrap the third-party code found on the addons path; return the
    login hooks it needs (called after the login rotated the session)."""
    if not idle_timeout.install(raise_expired=True):
        return []
    return [record_login_activity]


def record_login_activity(session):
    """Start the session's activity record, only in a database where
    auth_session_timeout is installed (being on the addons path is not
    enough: elsewhere nothing would read it)."""
    store = series.redis_store()
    if store is not None and idle_timeout.ADDON in odoo.registry(session.db)._init_modules:
        store.record_activity(session)
