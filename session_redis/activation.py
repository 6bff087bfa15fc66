"""Start-up: settings -> Redis client -> the running Odoo's glue ->
filesystem migration.

Runs once, when Odoo loads the server-wide addon (its ``post_load`` hook,
after Odoo has read its configuration). Odoo catches ordinary exceptions of
server-wide modules and runs on with filesystem sessions: the silent
split-brain this must avoid. So a bad setting, and anything unexpected
during activation, ends the process with one line (``SystemExit``); the
patch goes in before the migration, and only Redis being unreachable is
tolerated (requests answer 503 until it is back).
"""

import logging
import os

from . import series
from .core import metrics, server_checks
from .core.client import REDIS_ERRORS, error_text, make_client
from .core.fs_sessions import copy_fs_sessions, purge_fs_sessions
from .core.probes import METRICS_PATH, Probes
from .core.server_checks import EvictingRedis
from .core.settings import SettingError, describe, load_settings

_logger = logging.getLogger(__name__)


def activate(environ=None):
    """Switch Odoo to Redis sessions if ``ODOO_SESSION_REDIS`` (or
    ``session_redis`` in odoo.conf) says so."""
    try:
        return _activate(environ)
    except (SettingError, EvictingRedis) as error:
        _logger.critical("%s", error)
        raise SystemExit("session_redis: %s" % error)
    except Exception as error:
        _logger.critical("could not start, stopping the server: %s", error, exc_info=True)
        raise SystemExit("session_redis: could not start: %s: %s" % (type(error).__name__, error))


def _activate(environ):
    glue = series.glue()
    settings = load_settings(environ, *series.odoo_options())
    if not settings.enabled:
        _logger.info("off: web sessions stay in files (set ODOO_SESSION_REDIS=1 to use Redis)")
        if settings.copy_existing_fs_sessions or settings.purge_existing_fs_sessions:
            _logger.warning("filesystem sessions neither copied nor purged: ODOO_SESSION_REDIS is off")
        if settings.metrics:
            _logger.warning("no metrics: ODOO_SESSION_REDIS is off")
        glue.answer_probes(Probes())
        return None

    client = make_client(settings)
    _logger.info("web sessions in Redis: %s", describe(settings))
    try:
        client.ping()
    except REDIS_ERRORS as error:
        advice = server_checks.refusal_advice(error)
        if advice:
            _logger.warning("Redis refuses commands (%s): %s", error_text(error), advice)
        else:
            _logger.warning(
                "Redis does not answer yet (%s): requests get HTTP 503 until it does", error_text(error)
            )
    else:
        check_eviction(client, settings)
    glue.use_redis_sessions(client, settings, start_metrics(settings))
    glue.answer_probes(Probes(client, settings.metrics, settings.metrics_token, settings.prefix))
    if settings.copy_existing_fs_sessions or settings.purge_existing_fs_sessions:
        migrate(settings, series.session_folder(), glue.make_store(client, settings))
    return settings


def check_eviction(client, settings):
    """Refuse a Redis that may evict the indexes revocation relies on,
    unless ``ALLOW_EVICTION`` accepts it (then every save heals them)."""
    try:
        policy = server_checks.eviction_policy(client)
    except REDIS_ERRORS as error:
        _logger.warning(
            "cannot tell whether Redis evicts keys (INFO memory: %s): give the Redis user +info "
            "(docs/security.rst)",
            error_text(error),
        )
        return
    if policy is None:
        return
    warning = server_checks.eviction_warning(policy)
    if not settings.allow_eviction:
        raise EvictingRedis(
            "%s, or set ODOO_SESSION_REDIS_ALLOW_EVICTION=1 to run anyway (docs/failure-modes.rst)" % warning
        )
    _logger.warning("%s (ODOO_SESSION_REDIS_ALLOW_EVICTION=1: indexes heal at each save)", warning)


def start_metrics(settings):
    """The store's metrics observer, None (not counted) unless switched on."""
    if not settings.metrics:
        return None
    observer = metrics.start(series.metrics_folder(), series.is_gevent_process())
    access = "bearer token required" if settings.metrics_token else "loopback requests only"
    _logger.info("metrics on %s (%s)", METRICS_PATH, access)
    return observer


def migrate(settings, folder, store):
    """Copy and/or purge the filesystem sessions, as the settings ask.

    The purge never follows a copy that failed: that would lose sessions.
    """
    if not os.path.isdir(folder):
        _logger.info("no filesystem session folder %s: nothing to copy or purge", folder)
        return
    if settings.copy_existing_fs_sessions:
        try:
            result = copy_fs_sessions(folder, store)
        except REDIS_ERRORS as error:
            _logger.error("copying filesystem sessions failed, nothing purged: %s", error_text(error))
            if series.stops_after_init():  # a deploy step: its script must see the failure
                raise SystemExit("session_redis: copying filesystem sessions failed: %s" % error_text(error))
            return
        _logger.info(
            "copied %d filesystem sessions from %s to Redis; skipped %d already in Redis, "
            "%d unreadable and %d too large",
            result.copied,
            folder,
            result.already_in_redis,
            result.unreadable,
            result.too_large,
        )
    if settings.purge_existing_fs_sessions:
        deleted = purge_fs_sessions(folder)
        _logger.info("deleted %d filesystem session files from %s", deleted, folder)
