"""What every Odoo generation's glue shares: which glue runs here, Odoo's
configuration and folders, the installed store, and the one way to wrap an
Odoo function.

``glue()`` is :mod:`session_redis.odoo11` on Odoo 11 and
:mod:`session_redis.odoo16` on Odoo 16 and later; both offer the same few
functions (``make_store``, ``use_redis_sessions``, ``answer_probes``,
``filesystem_store``), so :mod:`.activation`, the operator command and the
models never ask which Odoo they run on.
"""

import importlib
import os

import odoo
from odoo import http

from .core import probes
from .core.store import RedisSessionStore

MAJOR = odoo.release.version_info[0]


def glue():
    """The glue module of the running Odoo."""
    return importlib.import_module(".odoo11" if MAJOR < 16 else ".odoo16", __package__)


def odoo_options():
    """Odoo's ``[options]`` (file and command line) and the file's name."""
    config = odoo.tools.config
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
