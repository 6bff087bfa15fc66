"""Where the addon hooks into Odoo: swap in the Redis session store.

``odoo.http.Root.session_store`` becomes a lazy property building a
:class:`RedisSessionStore`, and Odoo's filesystem session garbage collector
(``odoo.http.session_gc``, run at random on requests) becomes a no-op:
Redis expires the keys itself. ``OpenERPSession.authenticate`` gives the
session a new id after a successful login: always with ``ROTATE_ON_LOGIN``
(the default), and even without it when the id was never stored, so that an
id planted in a browser never becomes a logged-in session's id; it also
records the client's address and browser in the session. When a user's
password changes or the user is archived, ``res.users.write`` ends the
user's other sessions in Redis at once.
"""

import logging
import os

import odoo
from odoo import http
from odoo.service import security
from odoo.tools.func import lazy_property

from . import compat
from .client import REDIS_ERRORS
from .store import LOGIN_INFO, RedisSessionStore

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
    http.OpenERPSession.authenticate = _on_login(http.OpenERPSession.authenticate, settings.rotate_on_login)
    from odoo.addons.base.res.res_users import Users  # the model class every res.users extends

    Users.write = _ending_sessions(Users.write)
    compat.install()  # after rotation: its login hook sees the final session id


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


def _on_login(authenticate, always):
    """Wrap ``OpenERPSession.authenticate``: after a successful login the
    session gets a new id (the old key is deleted at once, the browser gets
    the new cookie), so an id planted before the login is worth nothing.
    Without ``always``, only a session that was never stored (``new``: the
    store adopts well-formed unknown ids, as Odoo's own store does) rotates.
    Odoo 11's session token is derived from the id: it is computed anew.
    The client's address and browser are recorded then, once."""

    def authenticate_and_rotate(session, db, login=None, password=None, uid=None):
        rotate = always or session.new
        uid = authenticate(session, db, login=login, password=password, uid=uid)
        if not uid:
            return uid
        if rotate:
            store = http.root.session_store
            store.delete(session)
            session.sid = store.generate_key()
            session.session_token = security.compute_session_token(session, http.request.env)
        session[LOGIN_INFO] = client_of(http.request.httprequest)
        session.modified = True
        return uid

    return authenticate_and_rotate


def client_of(httprequest):
    """Who logs in: the address (the proxy's X-Forwarded-For with
    ``--proxy-mode``) and a short name of the browser."""
    agent = httprequest.user_agent
    if agent.browser:
        browser = "%s %s on %s" % (agent.browser, agent.version or "", agent.platform or "?")
    else:
        browser = agent.string or "unknown"
    return {"ip": httprequest.remote_addr, "browser": " ".join(browser.split())[:120]}


def _ending_sessions(write):
    """Wrap ``res.users.write``: a new password or an archived user ends the
    user's other sessions in Redis at once. Odoo already refuses them (the
    session token covers the password hash), but their keys would stay until
    they expire. The session of the request itself is kept."""

    def write_and_end_sessions(users, values):
        result = write(users, values)
        if "password" in values or values.get("active") is False:
            end_sessions_of(users)
        return result

    return write_and_end_sessions


def end_sessions_of(users):
    """End the sessions of ``users`` in Redis, except the request's own."""
    request = http.request
    current = request.session if request else None
    db = users.env.cr.dbname
    try:
        store = http.root.session_store
        for user in users:
            keep = current.sid if current and (current.db, current.uid) == (db, user.id) else None
            store.end_user_sessions(db, user.id, keep=keep)
    except REDIS_ERRORS as error:
        _logger.warning(
            "sessions of users %s not ended, Redis unavailable (Odoo refuses them anyway): %s",
            users.ids,
            error,
        )
