"""The only module that touches Odoo: swap in the Redis session store.

``odoo.http.Root.session_store`` becomes a lazy property building a
:class:`RedisSessionStore`, and Odoo's filesystem session garbage collector
(``odoo.http.session_gc``, run at random on requests) becomes a no-op:
Redis expires the keys itself.
"""
import logging

import odoo
from odoo import http
from odoo.tools.func import lazy_property

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
        rotate_on_login=settings.rotate_on_login,
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
