"""The two paths the addon answers itself, before Odoo looks for a session.

``/session_redis/health`` is a readiness probe: a load balancer or an
orchestrator asks it every few seconds, so it must cost no session, no
cookie and no database. It sends a ``PING`` and a write that Redis refuses
as it would refuse a session's save but that writes nothing (see
:mod:`.server_checks`), and answers 200 when Redis takes both, 503 when it
does not answer (within the client's socket time-out, as any request
would) or refuses writes (full, a read-only replica, failing snapshots, a
missing permission), naming why. An evicting ``maxmemory-policy`` keeps it
at 200 with a warning (``INFO memory``; skipped if the ACL refuses
``INFO``). With sessions in files (``ODOO_SESSION_REDIS`` off) it answers
200 and says so: the node can serve its sessions, and turning Redis off to
go back to files must not make every node unready.

``/session_redis/metrics`` (off unless ``ODOO_SESSION_REDIS_METRICS``) is
the Prometheus text of :mod:`.metrics`. It is for the monitoring system
only: with ``ODOO_SESSION_REDIS_METRICS_TOKEN`` it wants that bearer token,
without one it answers only requests sent from this machine straight to
Odoo (see :func:`sent_from_loopback`).

Both answer only the path as spelled here: another form that the server
decodes to it (``//session_redis/metrics``, ``%6d`` for ``m``) answers 404,
so that a proxy rule naming the path covers every way to it (see
:func:`sent_as_spelled`).

Nothing here knows Odoo: the glue (``answer_probes``) puts :meth:`Probes.response_for`
in front of Odoo's WSGI dispatch.
"""

import hmac
import ipaddress
import json
import logging
import re
import time
from typing import Any, Callable, Dict, Mapping, Optional

from werkzeug.wrappers import Response

from . import metrics, server_checks
from .client import REDIS_ERRORS, error_text
from .layout import session_key

_logger = logging.getLogger(__name__)

HEALTH_PATH = "/session_redis/health"
METRICS_PATH = "/session_redis/metrics"
# The environ key of the request's target as sent, see keeping_request_target.
TARGET = "session_redis.request_target"
# The scheme and host of a request target in absolute form (GET http://host/path).
ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")

# Headers a reverse proxy adds (WSGI names). Odoo's --proxy-mode takes the
# client's address from X-Forwarded-For, which the client itself can write.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_REAL_IP", "HTTP_FORWARDED")
NOT_CACHED = [("Cache-Control", "no-store")]


class Probes:
    """Answers the health and metrics paths.

    :param client: the redis-py client; None when sessions are in files.
    :param metrics_on: serve the metrics page.
    :param token: the bearer token the metrics page wants; None: loopback only.
    :param prefix: the sessions' prefix, where the write probe's key is.
    """

    def __init__(
        self, client: Any = None, metrics_on: bool = False, token: Optional[str] = None, prefix: str = ""
    ) -> None:
        self.client = client
        self.metrics_on = metrics_on
        self.token = token
        self.probe_key = session_key(server_checks.WRITE_PROBE_ENTRY, prefix)

    def response_for(self, environ: Mapping[str, Any]) -> Any:
        """The response for a probe's path, None for any other request."""
        path = environ.get("PATH_INFO")
        if path not in (HEALTH_PATH, METRICS_PATH):
            return None
        if not sent_as_spelled(environ, path):
            return text_response(404, "not found\n")
        if path == HEALTH_PATH:
            return self.health()
        return self.metrics_page(environ)

    def health(self) -> Any:
        if self.client is None:
            return json_response(200, {"status": "ok", "sessions": "files"})
        started = time.monotonic()
        try:
            self.client.ping()
            milliseconds = (time.monotonic() - started) * 1000
            self.client.set(self.probe_key, "", xx=True, px=1000)  # never exists: writes nothing
        except REDIS_ERRORS as error:
            advice = server_checks.refusal_advice(error)
            if advice:
                _logger.warning("health probe: Redis refuses writes: %s; %s", error_text(error), advice)
                refused = {"status": "unavailable", "sessions": "redis", "redis": "refuses writes"}
                return json_response(503, dict(refused, reason=error_text(error), advice=advice))
            _logger.warning("health probe: Redis unavailable: %s", error_text(error))
            return json_response(503, {"status": "unavailable", "sessions": "redis", "redis": "unreachable"})
        document: Dict[str, Any] = {
            "status": "ok",
            "sessions": "redis",
            "redis": "reachable",
            "round_trip_ms": round(milliseconds, 3),
        }
        try:
            policy = server_checks.eviction_policy(self.client)
        except REDIS_ERRORS:  # INFO refused by the ACL, or Redis gone since: the probe above decided
            policy = None
        if policy:
            document["warning"] = server_checks.eviction_warning(policy)
        return json_response(200, document)

    def metrics_page(self, environ: Mapping[str, Any]) -> Any:
        if not self.metrics_on:
            return text_response(404, "session_redis metrics are off (ODOO_SESSION_REDIS_METRICS)\n")
        if self.token:
            if not bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), self.token):
                _logger.warning("metrics refused to %s: missing or wrong token", environ.get("REMOTE_ADDR"))
                response = text_response(401, "a bearer token is required\n")
                response.headers["WWW-Authenticate"] = 'Bearer realm="session_redis metrics"'
                return response
        elif not sent_from_loopback(environ):
            _logger.warning("metrics refused to %s: not a loopback request", environ.get("REMOTE_ADDR"))
            return text_response(403, "metrics are served to loopback addresses only (or set a token)\n")
        body, content_type = metrics.exposition()
        return Response(body, status=200, content_type=content_type, headers=NOT_CACHED)


def sent_as_spelled(environ: Mapping[str, Any], path: str) -> bool:
    """Did the client send ``path`` as it is spelled, not as another form
    that the server decodes to it (``//session_redis/metrics``,
    ``/session_redis/%6detrics``)?

    A proxy rule that keeps the metrics private names one spelling; a proxy
    that does not normalize paths passes the others on. Answering only
    that spelling makes the rule cover every way in. The target as sent is
    the one the glue records from the request line (:func:`keeping_request_target`),
    else ``REQUEST_URI`` or ``RAW_URI`` (uWSGI, gunicorn); without any,
    only ``PATH_INFO`` is known.
    """
    target = environ.get(TARGET) or environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if target is None:
        return True
    target = ABSOLUTE_FORM.sub("", target, count=1)  # GET http://host/path: the path
    return target.partition("?")[0] == path


def keeping_request_target(make_environ: Callable[[Any], Dict[str, Any]]) -> Callable[[Any], Dict[str, Any]]:
    """Wrap the method of a server's request handler that builds the WSGI
    environ (Werkzeug's ``make_environ``, gevent's ``get_environ``) so that
    the environ holds the request line's target as the client sent it:
    Python's HTTP server turns a leading ``//`` into ``/`` before Werkzeug
    sees it (``REQUEST_URI`` included), and gevent gives no raw target."""

    def make_environ_with_target(handler: Any) -> Dict[str, Any]:
        environ = make_environ(handler)
        words = (getattr(handler, "requestline", None) or "").split()
        if len(words) >= 2:  # method, target[, version]
            environ[TARGET] = words[1]
        return environ

    return make_environ_with_target


def bearer_matches(authorization: str, token: str) -> bool:
    """Does the ``Authorization`` header carry ``Bearer <token>``? (in
    constant time, so that the token cannot be guessed byte by byte)"""
    scheme, _, given = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def sent_from_loopback(environ: Mapping[str, Any]) -> bool:
    """Was the request sent from this machine straight to Odoo?

    A request carrying a forwarding header came through a proxy: refused,
    whatever address it names. A proxy on the same machine connects from
    127.0.0.1, so its peer address says nothing about the client; and with
    ``--proxy-mode`` Odoo replaces that address with one taken from
    ``X-Forwarded-For``.
    """
    if any(environ.get(header) for header in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(environ.get("REMOTE_ADDR") or "")
    except ValueError:  # a unix socket, say
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def json_response(status: int, document: Mapping[str, Any]) -> Any:
    return Response(json.dumps(document), status=status, mimetype="application/json", headers=NOT_CACHED)


def text_response(status: int, text: str) -> Any:
    return Response(text, status=status, mimetype="text/plain", headers=NOT_CACHED)
