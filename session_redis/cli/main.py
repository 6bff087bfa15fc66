"""``odoo session_redis``: jobs for operators on the sessions in Redis.

With this addon on the addons path (first argument, before the command
name), on every series::

    odoo --addons-path=ADDONS session_redis stats [--json]
    odoo --addons-path=ADDONS session_redis copy-fs [--dry-run] [--sessions-dir DIR]
    odoo --addons-path=ADDONS session_redis purge-fs [--dry-run] [--sessions-dir DIR]
    odoo --addons-path=ADDONS session_redis export-fs [--overwrite] [--sessions-dir DIR]
    odoo --addons-path=ADDONS session_redis sessions --login LOGIN [--db DB]
    odoo --addons-path=ADDONS session_redis sessions --rebuild-index
    odoo --addons-path=ADDONS session_redis revoke (--login LOGIN | --all) [--db DB] [--scan] [--dry-run]

Settings are the server's: ``ODOO_SESSION_REDIS_*`` and the ``[options]`` of
the configuration file (``-c``, else ``ODOO_RC`` or ``~/.odoorc`` as Odoo
does). Redis is used whether or not ``ODOO_SESSION_REDIS`` switches the
store on: rolling back to files means switching it off, then exporting.
``sessions`` and ``revoke --login`` find a login's user ids in the databases
(Odoo's ``db_*`` options) and use the per-user index, never a SCAN.
"""

import argparse
import datetime
import json
import logging
import os
import sys
from contextlib import closing

import odoo
import odoo.service.db
import odoo.sql_db
import psycopg2

from .. import series
from ..core import jobs as operations
from ..core.client import REDIS_ERRORS, error_text, make_client
from ..core.fs_sessions import copy_fs_sessions, purge_fs_sessions, session_files
from ..core.settings import SettingError, describe, load_settings
from ..core.store import short_hash
from .progress import Progress

PROG = "odoo session_redis"


class Failure(Exception):
    """Ends the command with its message on one line and exit code 1."""


def main(args):
    """Run the command line ``args`` (what follows ``session_redis``)."""
    logging.basicConfig(format="session_redis: %(message)s", level=logging.WARNING)
    parser = build_parser()
    options = parser.parse_args(args)
    if getattr(options, "db", None) and getattr(options, "everything", False):
        parser.error("--db goes with --login: --all ends every session of the prefix")
    if getattr(options, "scan", False) and getattr(options, "everything", False):
        parser.error("--scan goes with --login: --all always scans")
    try:
        options.job(options)
    except Failure as error:
        sys.exit("session_redis: %s" % error)
    except REDIS_ERRORS as error:
        sys.exit("session_redis: Redis failed, stopped: %s" % error_text(error))
    except BrokenPipeError:  # "| head": the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as error:
        sys.exit("session_redis: %s" % error)
    except KeyboardInterrupt:
        sys.exit("session_redis: interrupted")


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line naming the problem, not the whole usage."""

    def error(self, message):
        self.exit(2, "%s: %s (see %s --help)\n" % (self.prog, message, self.prog))


def build_parser():
    parser = Parser(
        prog=PROG,
        description="Operate on the web sessions the session_redis addon keeps in "
        "Redis. Put the addon's folder on the addons path before the command name: "
        "odoo --addons-path=ADDONS session_redis ...",
    )
    jobs = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    jobs.required = True

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="Odoo's configuration file: its [options] give the session_redis_* "
        "settings (the environment wins) and data_dir",
    )
    common.add_argument(
        "--data-dir", metavar="DIR", help="Odoo's data folder (default: from the configuration, else Odoo's)"
    )
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument(
        "--sessions-dir", metavar="DIR", help="the session folder (default: <data-dir>/sessions, as Odoo)"
    )

    stats = jobs.add_parser(
        "stats",
        parents=[common],
        help="count the sessions, memory and expiry",
        description="Sessions of this prefix (logged in or anonymous), "
        "memory they use and when they expire.",
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(job=run_stats)

    copy_fs = jobs.add_parser(
        "copy-fs",
        parents=[common, folder],
        help="copy filesystem sessions into Redis",
        description="Copy Odoo's session files into Redis, as the start-up option "
        "COPY_EXISTING_FS_SESSIONS does: a session already in Redis is kept.",
    )
    copy_fs.add_argument("--dry-run", action="store_true", help="count only, write nothing")
    copy_fs.set_defaults(job=run_copy_fs)

    purge_fs = jobs.add_parser(
        "purge-fs",
        parents=[common, folder],
        help="delete the filesystem session files",
        description="Delete Odoo's session files, as the start-up option "
        "PURGE_EXISTING_FS_SESSIONS does. Redis is not needed.",
    )
    purge_fs.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    purge_fs.set_defaults(job=run_purge_fs)

    export_fs = jobs.add_parser(
        "export-fs",
        parents=[common, folder],
        help="write Redis sessions back as files",
        description="Write the sessions of Redis as the running Odoo's session files, to go back to "
        "filesystem sessions without logging anybody out. Run it as Odoo's user.",
    )
    export_fs.add_argument(
        "--overwrite",
        action="store_true",
        help="replace session files that already exist (default: skip them)",
    )
    export_fs.set_defaults(job=run_export_fs)

    sessions = jobs.add_parser(
        "sessions",
        parents=[common],
        help="list a user's sessions, or rebuild the per-user index",
        description="The sessions of a login (every database that has it, or --db): "
        "created, last activity, expiry, and the address and browser recorded at login. "
        "Found through the per-user index; --rebuild-index fills that index from a SCAN, "
        "for sessions written before it existed or by the older module.",
    )
    what = sessions.add_mutually_exclusive_group(required=True)
    what.add_argument("--login", help="whose sessions to list")
    what.add_argument("--rebuild-index", action="store_true", help="index every logged-in session (SCAN)")
    sessions.add_argument("--db", help="only this database (with --login)")
    sessions.set_defaults(job=run_sessions)

    revoke = jobs.add_parser(
        "revoke",
        parents=[common],
        help="log a user (or everybody) out everywhere",
        description="Delete the sessions of a login (found through the per-user index; "
        "--scan reads every session instead), or every session of this prefix "
        "with --all: the user is logged out on every node at once.",
    )
    who = revoke.add_mutually_exclusive_group(required=True)
    who.add_argument("--login", help="the login whose sessions end")
    who.add_argument(
        "--all",
        action="store_true",
        dest="everything",
        help="end every session of this prefix (everybody logs in again)",
    )
    revoke.add_argument("--db", help="only the sessions of this database (with --login)")
    revoke.add_argument(
        "--scan",
        action="store_true",
        help="with --login: find the sessions by reading every session (SCAN), not the index",
    )
    revoke.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    revoke.set_defaults(job=run_revoke)
    return parser


# --- settings, Redis and folders, as the server finds them ---


def read_settings(options):
    """The addon's settings as the server would read them with these options."""
    odoo_args = []
    if options.config:
        if not os.access(options.config, os.R_OK):
            raise Failure("cannot read the configuration file %s" % options.config)
        odoo_args += ["--config", options.config]
    if options.data_dir:
        odoo_args += ["--data-dir", options.data_dir]
    if odoo_args:
        odoo.tools.config._parse_config(odoo_args)
    try:
        return load_settings(os.environ, *series.odoo_options())
    except SettingError as error:
        raise Failure(str(error))


def open_store(settings):
    """The server's store on a Redis that answers, or a one-line Failure."""
    client = make_client(settings)
    try:
        client.ping()
    except REDIS_ERRORS as error:
        raise Failure("cannot reach Redis (%s): %s" % (describe(settings), error_text(error)))
    try:
        return series.glue().make_store(client, settings)
    except (OSError, AssertionError) as error:  # Odoo asserts its session folder is writable
        raise Failure("Odoo's session folder is not usable (choose another --data-dir): %s" % error)


def sessions_dir(options):
    """``--sessions-dir``, else ``<data_dir>/sessions`` (not created: a
    dry run changes nothing)."""
    return os.path.abspath(options.sessions_dir or os.path.join(odoo.tools.config["data_dir"], "sessions"))


def existing_sessions_dir(options):
    folder = sessions_dir(options)
    if not os.path.isdir(folder):
        raise Failure("no session folder %s (see --sessions-dir and --data-dir)" % folder)
    return folder


def say(text=""):
    print(text)
    sys.stdout.flush()


def warn(text):
    """A warning on standard error: the work goes on, the exit code stays 0."""
    print("warning: " + text, file=sys.stderr)
    sys.stderr.flush()


def counted(count, thing):
    """``1 session``, ``2 sessions``."""
    return "%d %s%s" % (count, thing, "" if count == 1 else "s")


# --- the jobs ---


def run_stats(options):
    settings = read_settings(options)
    store = open_store(settings)
    with Progress("sessions scanned") as progress:
        stats = operations.collect_stats(store, progress=progress)
    if options.json:
        say(json.dumps(dict(redis=describe(settings), prefix=settings.prefix, **stats), indent=2))
        return
    say("Redis: %s" % describe(settings))
    say(
        "sessions: %d (logged in %d, anonymous %d, unreadable %d)"
        % (stats["sessions"], stats["logged_in"], stats["anonymous"], stats["unreadable"])
    )
    if stats["unreadable"]:
        warn(
            "%s under session keys unreadable (another Redis type, broken JSON or times): "
            "each such session starts afresh at its next request" % counted(stats["unreadable"], "value")
        )
    if stats["other_series"]:
        warn(
            "%s of another Odoo series' sessions share this prefix, not counted and left alone: "
            "give each site its own ODOO_SESSION_REDIS_PREFIX" % counted(stats["other_series"], "key")
        )
    memory = stats["memory_bytes"]
    if memory is None:
        say("memory: unknown (Redis refused MEMORY USAGE)")
    else:
        say("memory: %s" % readable_size(memory))
    say("expiring in:")
    for label, count in stats["ttl"].items():
        say("  %-10s %d" % (label, count))


def readable_size(size):
    """``1234567`` -> ``1.2 MiB (1234567 bytes)``."""
    scaled = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):  # noqa: B007 (the unit reached is used below)
        scaled /= 1024
        if scaled < 1024:
            break
    return "%d bytes" % size if size < 1024 else "%.1f %s (%d bytes)" % (scaled, unit, size)


def run_copy_fs(options):
    settings = read_settings(options)
    folder = existing_sessions_dir(options)
    store = open_store(settings)
    say("Redis: %s" % describe(settings))
    if options.dry_run:
        with Progress("session files read") as progress:
            result = operations.preview_copy(folder, store, progress=progress)
        say(copy_summary(result, folder, "would copy", "would skip") + " (dry run: nothing written)")
        return
    with Progress("session files sent") as progress:
        result = copy_fs_sessions(folder, store, progress=progress)
    say(copy_summary(result, folder, "copied", "skipped"))


def copy_summary(result, folder, copied, skipped):
    return "%s %s from %s; %s %d already in Redis, %d unreadable and %d too large" % (
        copied,
        counted(result.copied, "session"),
        folder,
        skipped,
        result.already_in_redis,
        result.unreadable,
        result.too_large,
    )


def run_purge_fs(options):
    read_settings(options)  # for data_dir, and a bad setting stops here as in the server
    folder = existing_sessions_dir(options)
    if options.dry_run:
        count = sum(1 for _ in session_files(folder))
        say("would delete %s from %s (dry run: nothing deleted)" % (counted(count, "session file"), folder))
        return
    say("deleted %s from %s" % (counted(purge_fs_sessions(folder), "session file"), folder))


def run_export_fs(options):
    settings = read_settings(options)
    folder = sessions_dir(options)
    store = open_store(settings)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    files = series.glue().filesystem_store(folder)
    say("Redis: %s" % describe(settings))
    with Progress("sessions read") as progress:
        result = operations.export_sessions(store, files, overwrite=options.overwrite, progress=progress)
    say(
        "exported %s to %s; skipped %d already there%s, %d unreadable and %d stored by hash"
        % (
            counted(result.exported, "session"),
            folder,
            result.already_on_disk,
            " (--overwrite replaces them)" if result.already_on_disk else "",
            result.unreadable,
            result.hashed,
        )
    )


def users_of(login, db=None):
    """``(database, user id)`` of every user with this login: in ``db``, or in
    every database Odoo lists (those without Odoo's tables are skipped)."""
    databases = [db] if db else odoo.service.db.list_dbs(True)
    found = []
    for name in databases:
        try:
            with closing(odoo.sql_db.db_connect(name).cursor()) as cursor:
                cursor.execute("SELECT id FROM res_users WHERE login = %s", (login,))
                found += [(name, uid) for (uid,) in cursor.fetchall()]
        except psycopg2.Error as error:
            if db:
                raise Failure("cannot read the users of database %r: %s" % (db, str(error).strip()))
        finally:
            odoo.sql_db.close_db(name)
    if not found:
        where = "database %r" % db if db else "any database (%s)" % ", ".join(databases)
        raise Failure("no user with login %r in %s" % (login, where))
    return found


def shown(value):
    """``value`` as text with every control or invisible character escaped
    (``\\x1b``, ``\\n``, ``\\u202e``): what a client recorded at login
    must not move the operator's cursor, erase lines or reorder the text."""
    return "".join(
        char if char.isprintable() and char != "\\" else char.encode("unicode_escape").decode("ascii")
        for char in str(value)
    )


def when(timestamp):
    """A Unix time as UTC text (``2026-12-07 03:53:45``), or ``?``."""
    if not timestamp:
        return "?"
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def run_sessions(options):
    settings = read_settings(options)
    store = open_store(settings)
    say("Redis: %s" % describe(settings))
    if options.rebuild_index:
        with Progress("sessions indexed") as progress:
            indexed, users = store.rebuild_index(progress=progress)
        say("indexed %s of %s" % (counted(indexed, "logged-in session"), counted(users, "user")))
        return
    for db, uid in users_of(options.login, options.db):
        found = store.user_sessions(db, uid)
        say(
            "%s of login %r in database %r (user id %d), times in UTC:"
            % (counted(len(found), "session"), options.login, db, uid)
        )
        others = store.index_entries(store.index_key(db, uid)).foreign
        if others:
            warn(
                "the index of user %d in %r also lists %s of another Odoo series sharing this prefix: "
                "left alone (give each site its own ODOO_SESSION_REDIS_PREFIX)"
                % (uid, db, counted(len(others), "session"))
            )
        for session in found:
            login = session.login_info if isinstance(session.login_info, dict) else {}
            say(
                "  %s  created %s  last activity %s  expires in %s  from %s  %s"
                % (
                    short_hash(session.entry),
                    when(session.created),
                    when(session.touched),
                    "%ds" % session.expires_in if session.expires_in >= 0 else "never",
                    shown(login.get("ip", "?")),
                    shown(login.get("browser", "?")),
                )
            )


def run_revoke(options):
    settings = read_settings(options)
    store = open_store(settings)
    say("Redis: %s" % describe(settings))
    if options.login and not options.scan:
        revoke_through_the_index(store, options)
        return
    with Progress("sessions scanned") as progress:
        result = operations.revoke_sessions(
            store,
            login=options.login,
            db=options.db,
            everything=options.everything,
            dry_run=options.dry_run,
            progress=progress,
        )
    whose = (
        "of every user"
        if options.everything
        else "of login %r%s" % (options.login, " in database %r" % options.db if options.db else "")
    )
    say(
        "%s %s %s (%s scanned)%s"
        % (
            "would revoke" if options.dry_run else "revoked",
            counted(result.revoked, "session"),
            whose,
            counted(result.scanned, "session"),
            " (dry run: nothing deleted)" if options.dry_run else "",
        )
    )


def revoke_through_the_index(store, options):
    for db, uid in users_of(options.login, options.db):
        if options.dry_run:
            count = len(store.user_sessions(db, uid))
        else:
            count = store.end_user_sessions(db, uid)
        say(
            "%s %s of login %r in database %r (user id %d, per-user index)%s"
            % (
                "would revoke" if options.dry_run else "revoked",
                counted(count, "session"),
                options.login,
                db,
                uid,
                " (dry run: nothing deleted)" if options.dry_run else "",
            )
        )
