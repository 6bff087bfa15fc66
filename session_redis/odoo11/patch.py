"""Odoo 11 glue: swap in the Redis session store.

``odoo.http.Root.session_store`` becomes a lazy property building a
:class:`~session_redis.core.store.RedisSessionStore` of
``OpenERPSession``\\ s, and Odoo's filesystem session garbage collector
(``odoo.http.session_gc``, run at random on requests) becomes a no-op:
Redis expires the keys itself. ``OpenERPSession.authenticate`` gives the
session a new id after a successful login: always with ``ROTATE_ON_LOGIN``
(the default), and even without it when the id was never stored, so that an
id planted in a browser never becomes a logged-in session's id. Then the
login is recorded (:func:`session_redis.users.record_login`), and then
OCA's auth_session_timeout, if present, starts its activity record: in that
order, so that both see the final session id.

Odoo 11 sets the session cookie on every response, so a response to a
request sent with the id a login has just rotated away (an image, a poll of
the bus, started before the login and answered after it) would put the dead
id back in the browser and log the user out. A response whose session is
not stored, to a request that sent that very id, sets no cookie: the browser
already has that id, or a newer one.
"""

from odoo import http
from odoo.addons.base.res.res_users import Users
from odoo.service import security
from odoo.tools.func import lazy_property
from werkzeug.contrib.sessions import FilesystemSessionStore

from .. import series, users
from ..core.store import RedisUnavailable
from ..core.store.values import loaded_state
from . import compat
from .store import Odoo11SessionStore


def make_store(client, settings, metrics=None):
    """The store of Odoo 11's sessions: ``OpenERPSession``, its upload folder."""
    return Odoo11SessionStore.from_settings(
        client, settings, session_class=http.OpenERPSession, path=series.session_folder(), metrics=metrics
    )


def filesystem_store(folder):
    """Odoo 11's own store on ``folder``, for the export to files."""
    return FilesystemSessionStore(folder, session_class=http.OpenERPSession)


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
    login_hooks = [users.record_login] + compat.install()
    series.wrap(
        http.OpenERPSession, "authenticate", lambda original: _on_login(original, settings, login_hooks)
    )
    series.wrap(Users, "write", users.ending_sessions)
    for request_class in (http.JsonRequest, http.HttpRequest):
        series.wrap(request_class, "_handle_exception", _outage_goes_up)
    series.wrap(http.Root, "get_response", _no_cookie_for_an_id_not_stored)


def _no_cookie_for_an_id_not_stored(get_response):
    """Keep a response from setting the cookie to the id its request sent
    when no session is stored under it (see the module's docstring)."""

    def get_response_without_dead_cookie(root, httprequest, result, explicit_session):
        response = get_response(root, httprequest, result, explicit_session)
        session = httprequest.session
        headers = getattr(response, "headers", None)
        if (
            headers is not None
            and not explicit_session
            and httprequest.cookies.get("session_id") == session.sid
            and loaded_state(session) is None  # neither read from Redis nor saved there
        ):
            kept = [value for value in headers.getlist("Set-Cookie") if not value.startswith("session_id=")]
            headers.remove("Set-Cookie")
            for value in kept:
                headers.add("Set-Cookie", value)
        return response

    return get_response_without_dead_cookie


def _outage_goes_up(handle_exception):
    """An outage in a controller (a login's rotation, say) goes straight up
    to ``Root.dispatch``, which answers 503: Odoo's JSON handler would log
    it again with its traceback, and the session would be saved, and fail,
    once more on the way out. The store has logged it once already."""

    def handle_exception_unless_outage(request, exception):
        if isinstance(exception, RedisUnavailable):
            raise exception
        return handle_exception(request, exception)

    return handle_exception_unless_outage


def answer_probes(probes):
    """Let ``probes`` (:class:`~session_redis.core.probes.Probes`) answer
    their paths before Odoo sets up a session. ``Root.dispatch`` is the WSGI
    entry of Odoo's application in threaded, prefork and gevent modes."""

    def make(dispatch):
        def dispatch_or_probe(root, environ, start_response):
            response = probes.response_for(environ)
            if response is None:
                return dispatch(root, environ, start_response)
            return response(environ, start_response)

        return dispatch_or_probe

    series.wrap(http.Root, "dispatch", make)
    series.keep_request_targets()


def _on_login(authenticate, settings, hooks):
    """Wrap ``OpenERPSession.authenticate``: after a successful login the
    session gets a new id (the old key is deleted at once, the browser gets
    the new cookie), so an id planted before the login is worth nothing.
    Without ``ROTATE_ON_LOGIN``, a session that had no user before the
    login still rotates (an id an attacker got, even stored by a failed
    login of theirs, must never become a logged-in one); only a session
    already logged in keeps its id when it authenticates again. Odoo 11's
    session token is derived from the id: it is computed anew. Then each of
    ``hooks`` is called with the session."""

    def authenticate_and_rotate(session, db, login=None, password=None, uid=None):
        rotate = settings.rotate_on_login or not session.uid
        uid = authenticate(session, db, login=login, password=password, uid=uid)
        if not uid:
            return uid
        if rotate:
            store = http.root.session_store
            store.delete(session)
            session.sid = store.generate_key()
            session.session_token = security.compute_session_token(session, http.request.env)
        for hook in hooks:
            hook(session)
        session.modified = True
        return uid

    return authenticate_and_rotate
