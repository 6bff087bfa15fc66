"""The only module that touches Odoo: swap in the Redis session store.

``odoo.http.Root.session_store`` becomes a lazy property building a
:class:`RedisSessionStore`, and Odoo's filesystem session garbage collector
(``odoo.http.session_gc``, run at random on requests) becomes a no-op:
Redis expires the keys itself. With rotation on login,
``OpenERPSession.authenticate`` also gives the session a new id.
"""

import logging

import odoo
from odoo import http
from odoo.service import security
from odoo.tools.func import lazy_property

from . import compat
from .store import RedisSessionStore

_logger = logging.getLogger(__name__)


def session_folder():
    """Odoo's own session folder (``<data_dir>/sessions``)."""
    return odoo.tools.config.session_dir


def odoo_options():
    """Odoo's ``[options]`` (file and command line) and the file's name."""
    config = odoo.tools.config
    return config.options, getattr(config, "rcfile", None)


def make_store(client, settings):
    return RedisSessionStore(
        client,
        session_class=http.OpenERPSession,
        prefix=settings.prefix,
        expiration=settings.expiration,
        expiration_anonymous=settings.expiration_anonymous,
        sliding=settings.sliding,
        touch_interval=settings.touch_interval,
        max_lifetime=settings.max_lifetime,
        max_size=settings.max_size,
        path=session_folder(),
    )


def no_session_gc(session_store):
    """Redis expires sessions by itself; there is no folder to sweep."""


def use_redis_sessions(client, settings):
    """Make every ``Root`` (and the running ``odoo.http.root``) use Redis."""

    def session_store(root):
        # lazy_property caches the value under this function's name.
        return make_store(client, settings)

    http.Root.session_store = lazy_property(session_store)
    http.root.__dict__.pop("session_store", None)
    http.session_gc = no_session_gc
    if settings.rotate_on_login:
        http.OpenERPSession.authenticate = _rotating(http.OpenERPSession.authenticate)
    compat.install()  # after rotation: its login hook sees the final session id


def _rotating(authenticate):
    """Wrap ``OpenERPSession.authenticate``: after a successful login the
    session gets a new id (the old key is deleted at once, the browser gets
    the new cookie), so an id planted before the login is worth nothing.
    Odoo 11's session token is derived from the id: it is computed anew."""

    def authenticate_and_rotate(session, db, login=None, password=None, uid=None):
        uid = authenticate(session, db, login=login, password=password, uid=uid)
        if uid:
            store = http.root.session_store
            store.delete(session)
            session.sid = store.generate_key()
            session.session_token = security.compute_session_token(session, http.request.env)
            session.modified = True
        return uid

    return authenticate_and_rotate
