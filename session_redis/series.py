"""What every Odoo generation's glue shares: which glue runs here, Odoo's
configuration and folders, the installed store, and the one way to wrap an
Odoo function.

``glue()`` is :mod:`session_redis.odoo11` on Odoo 11 and
:mod:`session_redis.odoo16` on Odoo 16 and later (:data:`GENERATIONS`);
each offers the same few functions (:data:`GLUE_CONTRACT`), so
:mod:`.activation`, the operator command and the models never ask which
Odoo they run on.

What a new generation (Odoo 20) provides: one new folder with these
functions, ``session_redis/odoo20/``, and one line in :data:`GENERATIONS`.

- ``__init__.py`` exports exactly the names of :data:`GLUE_CONTRACT`
  (``tests/odoo/test_glue_contract.py`` reads every ``odoo*/__init__.py``, and
  :func:`glue` refuses a module that lacks one):

  - ``make_store(client, settings, metrics=None)``: a store of that Odoo's
    session class, with Odoo's upload folder (:func:`session_folder`);
  - ``use_redis_sessions(client, settings, metrics=None)``: Odoo's WSGI
    application (and the running ``odoo.http.root``) uses that store from
    now on, a login records its client (:func:`.users.record_login`) and
    rotates the id where Odoo does not, ``res.users.write`` ends the
    sessions of a new password or an archived user
    (:func:`.users.ending_sessions`), and a Redis outage in a controller
    answers 503;
  - ``answer_probes(probes)``: at Odoo's WSGI entry, before any session
    is loaded, :class:`~.core.probes.Probes` answer their paths (and
    :func:`keep_request_targets` records each request's target); where
    Odoo loads the session outside its own error handling (16+), a Redis
    outage there answers 503 too; where the store reads early
    (``early_reads.active``, 16+), the cookie's session is asked for
    there (``prefetch``) and ``drop_prefetch()`` is called when the
    request ends;
  - ``filesystem_store(folder)``: Odoo's own filesystem store on
    ``folder``, what ``export-fs`` writes to.

- ``store.py`` subclasses :class:`~.core.store.RedisSessionStore` (and
  that Odoo's ``SessionStore`` base) and sets how its Odoo names and
  saves sessions:

  - ``id_pattern`` (a compiled regular expression a session id fully
    matches) and ``generate_key(salt=None)`` (a new id of that form; the
    core's: 40 hex characters);
  - ``save_flag``: the session attribute that makes Odoo save it
    (``modified`` on 11, ``is_dirty`` on 16+);
  - ``identifier_length``: how many leading characters of an id name a
    device (42 on 18+; 0: no devices, no device index);
  - ``renew_missing``: an unknown id gets a new session under a new id
    (True: Odoo 16+ puts the requested id back itself) or an empty one
    keeping it (False: Odoo 11, whose CSRF token derives from the id);
  - ``skip_default_sessions``: a never-stored session holding only Odoo's
    defaults is not written (True where Odoo saves every session it
    touched, as 11 does);
  - ``default_expiration()`` and ``default_anonymous_expiration()``: the
    lifetimes without ``ODOO_SESSION_REDIS_EXPIRATION*`` (16+ reads
    Odoo's ``sessions.max_inactivity_seconds``);
  - where needed: ``contents(session)`` (the dict behind a session class
    that is not one), ``loaded_session(data, sid)`` (the session object
    of a dict just decoded, built without a constructor that copies every
    value, as Odoo 16+'s does), ``sealed``/``unsealed`` (another session's id kept
    inside a session, encrypted at rest), ``ttl`` (an Odoo-set deletion
    time), and every method that Odoo calls on its store beyond
    get/new/save/delete: ``rotate``, ``vacuum``, ``delete_from_identifiers``,
    ``get_missing_session_identifiers``, ``delete_old_sessions`` on 16-19.

  A session class with ``__slots__`` also needs a ``_redis_loaded`` slot
  (see ``odoo16/store.py``'s ``RedisSession``): without it every request
  rewrites its session.

From Odoo 20's pull requests (not checked against a release): its store
comes from a cached function ``session_store()`` imported by value, not
an attribute to replace, and its ids are 86 characters (84 still
accepted): its ``use_redis_sessions`` and ``id_pattern`` are where that
generation differs, not the callers of :func:`glue`.
"""

import importlib
import os

import odoo
from odoo import http

from .core import probes
from .core.store import RedisSessionStore

MAJOR = odoo.release.version_info[0]

# Which glue package runs which Odoo: (first major version, folder under
# session_redis/), oldest first. The oldest also takes any older major.
GENERATIONS = ((11, "odoo11"), (16, "odoo16"))

# What every glue package exports, and the Odoo-specific job of each name.
GLUE_CONTRACT = {
    "make_store": "a Redis store of this Odoo's session class, with Odoo's upload folder",
    "use_redis_sessions": "install that store in Odoo's WSGI application, hook logins and res.users.write",
    "answer_probes": "answer the probe and metrics paths at Odoo's WSGI entry, before any session",
    "filesystem_store": "Odoo's own filesystem session store on a folder (export-fs)",
}


class GlueError(ImportError):
    """A glue package that does not offer every name of :data:`GLUE_CONTRACT`."""


def glue_package(major):
    """The name of the glue package (a folder under ``session_redis/``)
    that runs Odoo ``major``: the newest generation starting at or before it."""
    chosen = GENERATIONS[0][1]
    for first, package in GENERATIONS:
        if major >= first:
            chosen = package
    return chosen


def glue():
    """The glue module of the running Odoo, checked against :data:`GLUE_CONTRACT`."""
    module = importlib.import_module("." + glue_package(MAJOR), __package__)
    missing = [name for name in GLUE_CONTRACT if not callable(getattr(module, name, None))]
    if missing:
        raise GlueError(
            "%s, the glue of Odoo %d, lacks %s" % (module.__name__, MAJOR, ", ".join(missing)),
            name=module.__name__,
        )
    return module


def odoo_options():
    """Odoo's ``[options]`` (file and command line) and the file's name."""
    config = odoo.tools.config
    if MAJOR >= 19:
        # config.rcfile warns (DeprecationWarning) on 19; config["config"]
        # is the file read there, where before 19 it is only ``-c``'s value
        return config.options, config.options.get("config")
    return config.options, getattr(config, "rcfile", None)


def session_folder():
    """Odoo's own session folder (``<data_dir>/sessions``)."""
    return odoo.tools.config.session_dir


def metrics_folder():
    """Where the metric files of this node's server runs go: under Odoo's
    data folder, which Odoo can always write and every node has its own of."""
    return os.path.join(odoo.tools.config["data_dir"], "session_redis_metrics")


def stops_after_init():
    """Is this a one-off run (``--stop-after-init``), such as a deploy step?"""
    return bool(odoo.tools.config.get("stop_after_init"))


def is_gevent_process():
    """Is this the longpolling or websocket (gevent) process of a prefork server?"""
    return bool(odoo.evented)


def redis_store():
    """The running server's Redis session store, None when sessions are in
    files (the addon off, or not loaded server-wide)."""
    store = http.root.session_store
    return store if isinstance(store, RedisSessionStore) else None


def keep_request_targets():
    """Record each request's target as sent in the WSGI environ, on Odoo's
    own servers (Werkzeug's in the HTTP workers, gevent's in the
    longpolling or websocket process), for
    :func:`~.core.probes.sent_as_spelled`."""
    import werkzeug.serving

    wrap(werkzeug.serving.WSGIRequestHandler, "make_environ", probes.keeping_request_target)
    if is_gevent_process():
        from gevent import pywsgi

        wrap(pywsgi.WSGIHandler, "get_environ", probes.keeping_request_target)


def wrap(owner, name, make_wrapper):
    """Replace ``owner.name`` by ``make_wrapper(original)``, once: a second
    activation in the same process (tests, ``odoo shell``) changes nothing."""
    original = getattr(owner, name)
    if getattr(original, "_session_redis", False):
        return
    wrapper = make_wrapper(original)
    wrapper._session_redis = True
    setattr(owner, name, wrapper)


def client_of(httprequest):
    """Who logs in: the address (the proxy's X-Forwarded-For with
    ``--proxy-mode``) and a short name of the browser."""
    agent = httprequest.user_agent
    browser = getattr(agent, "browser", None)
    if browser:
        browser = "%s %s on %s" % (browser, agent.version or "", agent.platform or "?")
    else:
        browser = agent.string or "unknown"
    return {"ip": httprequest.remote_addr, "browser": " ".join(browser.split())[:120]}
