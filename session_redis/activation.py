"""Start-up: settings -> Redis client -> filesystem migration -> Odoo patch.

Runs once, when Odoo loads the server-wide addon (its ``post_load`` hook,
after Odoo has read its configuration). A bad setting ends the process:
Odoo catches ordinary exceptions of server-wide modules and would run on
with filesystem sessions, which is the silent failure this must avoid.
"""

import logging
import os

from . import odoo_patch
from .client import REDIS_ERRORS, make_client
from .migration import copy_fs_sessions, purge_fs_sessions
from .settings import SettingError, describe, load_settings

_logger = logging.getLogger(__name__)


def activate(environ=None):
    """Switch Odoo to Redis sessions if ``ODOO_SESSION_REDIS`` (or
    ``session_redis`` in odoo.conf) says so."""
    try:
        settings = load_settings(environ, *odoo_patch.odoo_options())
    except SettingError as error:
        _logger.critical("%s", error)
        raise SystemExit("session_redis: %s" % error)
    if not settings.enabled:
        _logger.info("off: web sessions stay in files (set ODOO_SESSION_REDIS=1 to use Redis)")
        if settings.copy_existing_fs_sessions or settings.purge_existing_fs_sessions:
            _logger.warning("filesystem sessions neither copied nor purged: ODOO_SESSION_REDIS is off")
        return None

    client = make_client(settings)
    _logger.info("web sessions in Redis: %s", describe(settings))
    try:
        client.ping()
    except REDIS_ERRORS as error:
        _logger.warning("Redis does not answer yet (%s): requests get HTTP 503 until it does", error)
    if settings.copy_existing_fs_sessions or settings.purge_existing_fs_sessions:
        migrate(settings, odoo_patch.session_folder(), odoo_patch.make_store(client, settings))
    odoo_patch.use_redis_sessions(client, settings)
    return settings


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
            _logger.error("copying filesystem sessions failed, nothing purged: %s", error)
            return
        _logger.info(
            "copied %d filesystem sessions from %s to Redis; skipped %d already in Redis "
            "and %d unreadable",
            result.copied,
            folder,
            result.already_in_redis,
            result.unreadable,
        )
    if settings.purge_existing_fs_sessions:
        deleted = purge_fs_sessions(folder)
        _logger.info("deleted %d filesystem session files from %s", deleted, folder)
