"""Odoo 16+ glue: swap in the Redis session store.

``odoo.http.Application.session_store`` becomes a lazy property building an
:class:`~.store.Odoo16SessionStore` of :class:`~.store.RedisSession`\\ s.
Odoo itself rotates the session id at every login (``Session.finalize``
asks for it) and at logout, so ``ROTATE_ON_LOGIN`` has nothing to add here;
``finalize`` records the login (:func:`session_redis.users.record_login`).
When a user's password changes or the user is archived, ``res.users.write``
ends the user's other sessions in Redis at once. OCA's auth_session_timeout,
if on the addons path, counts idle time in Redis (:mod:`..idle_timeout`).

Odoo 16 loads the session before its own error handling: a Redis outage
then would answer 500. The WSGI entry (``Application.__call__``) turns it
into the store's 503, and answers the probes before any session exists. An
outage while the session is saved, after the controller, reaches Odoo's
dispatchers (a JSON-RPC call would get HTTP 200 with an error): their
``handle_error`` answers 503 too. The same entry sends the ``GET`` of the
cookie's session at once, so that its round trip runs while Odoo builds
its request (:mod:`..core.store.early_reads`).
"""

import re

from odoo import http
from odoo.addons.base.models import res_users

from .. import idle_timeout, series, users
from ..core.store import RedisUnavailable
from .store import Odoo16SessionStore, RedisSession

# The model class every res.users extends (its name changed over the series).
USERS = getattr(res_users, "Users", None) or res_users.ResUsers
# The first session_id cookie, as werkzeug reads it for Odoo (a value it
# would read otherwise only costs the early read: the store compares keys).
SESSION_COOKIE = re.compile(r"(?:^|;)\s*session_id=([A-Za-z0-9_-]+)\s*(?:;|$)")


def make_store(client, settings, metrics=None):
    """The store of Odoo's sessions, with Odoo's upload folder."""
    return Odoo16SessionStore.from_settings(
        client, settings, session_class=RedisSession, path=series.session_folder(), metrics=metrics
    )


def filesystem_store(folder):
    """Odoo's own store on ``folder``, for the export to files."""
    return http.FilesystemSessionStore(folder, session_class=http.Session, renew_missing=True)


def use_redis_sessions(client, settings, metrics=None):
    """Make every ``Application`` (and the running ``odoo.http.root``) use Redis."""

    def session_store(application):
        # the property caches the value under this function's name
        return make_store(client, settings, metrics)

    # Odoo's own kind of cached property (lazy_property on 16-18,
    # functools.cached_property on 19), so that Odoo's resets reach it
    prop = type(http.Application.__dict__["session_store"])(session_store)
    if hasattr(prop, "__set_name__"):
        prop.__set_name__(http.Application, "session_store")
    http.Application.session_store = prop
    http.root.__dict__.pop("session_store", None)
    series.wrap(http.Session, "finalize", _recording_login)
    series.wrap(USERS, "write", users.ending_sessions)
    idle_timeout.install(raise_expired=False)
    for dispatcher in set(http._dispatchers.values()):
        series.wrap(dispatcher, "handle_error", _outage_as_503)


def _outage_as_503(handle_error):
    """A session saved (or rotated) after the controller ran fails inside
    Odoo's dispatcher, which would wrap the outage in its own error page or
    JSON-RPC error: it answers 503 like a session that failed to load."""

    def handle_error_or_503(dispatcher, exc):
        if isinstance(exc, RedisUnavailable):
            return exc.get_response()
        return handle_error(dispatcher, exc)

    return handle_error_or_503


def _recording_login(finalize):
    def finalize_and_record(session, env):
        result = finalize(session, env)
        users.record_login(session)
        return result

    return finalize_and_record


def answer_probes(probes):
    """Let ``probes`` (:class:`~session_redis.core.probes.Probes`) answer
    their paths before Odoo sets up a session, a Redis outage while the
    session loads answer 503 on every series, and the session's ``GET``
    start as the request arrives."""

    def make(call):
        def call_or_probe(application, environ, start_response):
            response = probes.response_for(environ)
            if response is not None:
                return response(environ, start_response)
            outer = http._request_stack.top
            store = application.session_store
            early_reads = getattr(store, "early_reads", None)
            prefetch = early_reads is not None and early_reads.active
            if prefetch:
                cookie = SESSION_COOKIE.search(environ.get("HTTP_COOKIE", ""))
                if cookie:
                    store.prefetch(cookie.group(1))
            try:
                return call(application, environ, start_response)
            except RedisUnavailable as unavailable:
                while http._request_stack.top is not None and http._request_stack.top is not outer:
                    http._request_stack.pop()  # left behind by a request that failed to start
                return unavailable(environ, start_response)
            finally:
                if prefetch:
                    store.drop_prefetch()

        return call_or_probe

    series.wrap(http.Application, "__call__", make)
    series.keep_request_targets()
