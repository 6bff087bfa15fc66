"""OCA's ``auth_session_timeout`` with the idle time counted in Redis, on every series.

The addon measures how long a session has been idle by the modification
time of its file (``get_session_filename``, ``getmtime``, ``utime``). With
sessions in Redis there is no file: its check is wrapped, and when the store
it sees is a :class:`RedisSessionStore` the last activity comes from the
store's activity record instead, which every node reads and writes. Otherwise
(the addon off, or the addon's own tests, which mock its ``http``) its code
runs unchanged. Its pluggable methods (deadline, terminate, ignored URLs) are
still called, so extensions of them keep working, and the check ends like the
addon's own on that series: 11.0 raises ``SessionExpiredException``, 16.0 to
19.0 return it (the request that found the session idle finishes, logged out
from the next one on, as with files).

The record is read on every request the addon checks (one ``GET``) and
written only when it is older than a tenth of the idle delay (at most once
per touch interval): a session is ended at most that much early.
"""

import importlib
import logging
import time
from typing import Any, Callable, Optional

from odoo import api
from odoo.http import SessionExpiredException
from odoo.modules.module import get_module_path

from . import series
from .core.store import RedisSessionStore

_logger = logging.getLogger(__name__)

ADDON = "auth_session_timeout"
CHECK_MODULE = "odoo.addons.auth_session_timeout.models.res_users"


def install(raise_expired: bool) -> bool:
    """Wrap the addon's check if the addon is on the addons path; say if it was.

    ``raise_expired``: the wrapped check raises the expiry (11.0) instead of
    returning it (16.0 and later), as the addon's own code of that series does."""
    # Odoo's import hook answers for any odoo.addons.* name: ask its module path
    if not get_module_path(ADDON, display_warning=False):
        return False
    try:
        module = importlib.import_module(CHECK_MODULE)
    except ImportError as error:  # on the path but broken: not ours to stop the server for
        _logger.warning("%s found but not importable, left alone: %s", ADDON, error)
        return False
    series.wrap(module.ResUsers, "_auth_timeout_check", _idle_time_from_redis(module, raise_expired))
    _logger.info("%s: idle time read from Redis", ADDON)
    return True


def _idle_time_from_redis(module: Any, raise_expired: bool) -> Callable[[Callable], Callable]:
    """The wrapper of the addon's check. It looks at the store through the
    addon's own ``http`` (its tests replace that with a mock)."""
    # the decorator of the addon's method: Odoo 11's, or api.model from 13 on
    decorate = getattr(api, "model_cr_context", api.model)

    def make(original: Callable) -> Callable:
        @decorate
        def _auth_timeout_check(users: Any) -> Optional[Exception]:
            http = module.http
            store = http.root.session_store if http.request else None
            if not isinstance(store, RedisSessionStore):
                return original(users)
            if not check_idle_timeout(users, store, http.request):
                return None
            expired = SessionExpiredException("Session expired")
            if raise_expired:
                raise expired
            return expired

        return _auth_timeout_check

    return make


def check_idle_timeout(users: Any, store: RedisSessionStore, request: Any) -> bool:
    """The addon's check with the last activity kept in Redis: True when
    the idle session was ended (by the addon's terminate method)."""
    session = request.session
    deadline = users._auth_timeout_deadline_calculate()
    last = store.last_activity(session)
    if deadline is not False and last is not None and last < deadline:
        if users._auth_timeout_session_terminate(session):
            return True
    if last is None or request.httprequest.path not in users._auth_timeout_get_ignored_urls():
        now = time.time()
        delay = now - deadline if deadline is not False else 0
        interval = min(store.touch_interval, delay / 10.0) if delay > 0 else store.touch_interval
        if last is None or now - last >= interval:
            store.record_activity(session, keep=delay)
    return False
