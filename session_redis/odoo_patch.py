"""The only module that touches Odoo: swap in the Redis session store.

``odoo.http.Root.session_store`` becomes a lazy property building a
:class:`RedisSessionStore`, and Odoo's filesystem session garbage collector
(``odoo.http.session_gc``, run at random on requests) becomes a no-op:
Redis expires the keys itself. ``OpenERPSession.authenticate`` gives the
session a new id after a successful login: always with ``ROTATE_ON_LOGIN``
(the default), and even without it when the id was never stored, so that an
id planted in a browser never becomes a logged-in session's id.
"""

import logging
import os

import odoo
from odoo import http
from odoo.service import security
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


def make_store(client, settings, metrics=None):
    """The store of Odoo's sessions: Odoo's session class, its upload folder."""
    return RedisSessionStore.from_settings(
        client, settings, session_class=http.OpenERPSession, path=session_folder(), metrics=metrics
    )


def no_session_gc(session_store):
    """Redis expires sessions by itself; there is no folder to sweep."""


def use_redis_sessions(client, settings, metrics=None):
    """Make every ``Root`` (and the running ``odoo.http.root``) use Redis."""

    def session_store(root):
        # lazy_property caches the value under this function's name.
        return make_store(client, settings, metrics)

    http.Root.session_store = lazy_property(session_store)
    http.root.__dict__.pop("session_store", None)
    http.session_gc = no_session_gc
    http.OpenERPSession.authenticate = _rotating(http.OpenERPSession.authenticate, settings.rotate_on_login)


def answer_probes(probes):
    """Let ``probes`` (:class:`~session_redis.probes.Probes`) answer their
    paths before Odoo sets up a session. ``Root.dispatch`` is the WSGI entry
    of Odoo's application in threaded, prefork and gevent modes."""
    dispatch = http.Root.dispatch

    def dispatch_or_probe(root, environ, start_response):
        response = probes.response_for(environ)
        if response is None:
            return dispatch(root, environ, start_response)
        return response(environ, start_response)

    http.Root.dispatch = dispatch_or_probe


def metrics_folder():
    """Where the metric files of this node's server runs go: under Odoo's
    data folder, which Odoo can always write and every node has its own of."""
    return os.path.join(odoo.tools.config["data_dir"], "session_redis_metrics")


def is_longpolling_process():
    """Is this the longpolling (gevent) process a prefork server starts?"""
    return odoo.evented


def _rotating(authenticate, always):
    """Wrap ``OpenERPSession.authenticate``: after a successful login the
    session gets a new id (the old key is deleted at once, the browser gets
    the new cookie), so an id planted before the login is worth nothing.
    Without ``always``, only a session that was never stored (``new``: the
    store adopts well-formed unknown ids, as Odoo's own store does) rotates.
    Odoo 11's session token is derived from the id: it is computed anew."""

    def authenticate_and_rotate(session, db, login=None, password=None, uid=None):
        rotate = always or session.new
        uid = authenticate(session, db, login=login, password=password, uid=uid)
        if uid and rotate:
            store = http.root.session_store
            store.delete(session)
            session.sid = store.generate_key()
            session.session_token = security.compute_session_token(session, http.request.env)
            session.modified = True
        return uid

    return authenticate_and_rotate
