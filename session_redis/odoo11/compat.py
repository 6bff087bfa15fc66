"""Glue for other addons that reach into the session store.

OCA's ``auth_session_timeout`` (11.0) reads the idle time of a session from
the modification time of its file (``get_session_filename``, ``getmtime``,
``utime``). With sessions in Redis there is no file, so its check is wrapped:
when the store it sees is a :class:`RedisSessionStore`, the last activity
comes from the store's activity record instead; otherwise (filesystem
sessions, or the addon's own tests, which mock the store) its code runs
unchanged. The addon's pluggable methods (deadline, terminate, ignored URLs)
are still called, so its extensions keep working.

A login starts the record (the file's time, too, is the login's) in a
database where the addon is installed; elsewhere no record is written. The
record is read on every request that checks it (one ``GET``) and
written only when it is older than a tenth of the idle delay (at most once
per touch interval): the timeout ends a session at most that much early.
"""

import importlib
import logging
import time

import odoo
from odoo import api
from odoo.http import SessionExpiredException
from odoo.modules.module import get_module_path

from .. import series
from ..core.store import RedisSessionStore

_logger = logging.getLogger(__name__)

TIMEOUT_ADDON = "odoo.addons.auth_session_timeout.models.res_users"


def install():
    """Wrap the third-party code found on the addons path; return the
    login hooks it needs (called after the login rotated the session)."""
    # Odoo's import hook answers for any odoo.addons.* name: ask its module path
    if not get_module_path("auth_session_timeout", display_warning=False):
        return []
    try:
        module = importlib.import_module(TIMEOUT_ADDON)
    except ImportError as error:  # on the path but broken: not ours to stop the server for
        _logger.warning("auth_session_timeout found but not importable, left alone: %s", error)
        return []
    series.wrap(module.ResUsers, "_auth_timeout_check", _idle_time_from_redis(module))
    _logger.info("auth_session_timeout: idle time read from Redis")
    return [record_login_activity]


def record_login_activity(session):
    """A login is activity: with files it rewrites the session file, whose
    time the addon reads; here it starts the session's activity record,
    only in a database where auth_session_timeout is installed (being on
    the addons path is not enough: elsewhere nothing would read it)."""
    store = series.redis_store()
    if store is not None and "auth_session_timeout" in odoo.registry(session.db)._init_modules:
        store.record_activity(session)


def _idle_time_from_redis(module):
    """The wrapper of the addon's check. It looks at the store through the
    addon's own ``http`` (its tests replace that with a mock)."""

    def make(original):
        @api.model_cr_context
        def _auth_timeout_check(users):
            http = module.http
            store = http.root.session_store if http.request else None
            if not isinstance(store, RedisSessionStore):
                return original(users)
            return check_idle_timeout(users, store, http.request)

        return _auth_timeout_check

    return make


def check_idle_timeout(users, store, request):
    """auth_session_timeout's check, with the last activity kept in Redis."""
    session = request.session
    deadline = users._auth_timeout_deadline_calculate()
    last = store.last_activity(session)
    if deadline is not False and last is not None and last < deadline:
        if users._auth_timeout_session_terminate(session):
            raise SessionExpiredException("Session expired")
    if last is None or request.httprequest.path not in users._auth_timeout_get_ignored_urls():
        now = time.time()
        delay = now - deadline if deadline is not False else 0
        interval = min(store.touch_interval, delay / 10.0) if delay > 0 else store.touch_interval
        if last is None or now - last >= interval:
            store.record_activity(session, keep=delay)
