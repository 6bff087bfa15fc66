"""The addon's settings: ``ODOO_SESSION_REDIS_*`` environment variables
turned into one frozen, validated :class:`Settings`.

Every value is checked here, once, at start-up, so that a typo stops the
server with a message naming the variable and the value it got instead of
surfacing later as a strange runtime error (or, worse, a silent fallback to
filesystem sessions).
"""
import collections
import os

from urllib.parse import urlparse

from redis.connection import parse_url

PREFIX = "ODOO_SESSION_REDIS"

TRUE_WORDS = frozenset(["1", "true", "yes", "on"])
FALSE_WORDS = frozenset(["0", "false", "no", "off", ""])

WEEK = 7 * 24 * 60 * 60
THREE_HOURS = 3 * 60 * 60

Settings = collections.namedtuple("Settings", [
    "enabled",
    "url",
    "host",
    "port",
    "password",
    "sentinel_host",
    "sentinel_port",
    "sentinel_master_name",
    "prefix",
    "expiration",
    "expiration_anonymous",
    "copy_existing_fs_sessions",
    "purge_existing_fs_sessions",
])


class SettingError(ValueError):
    """A setting has a value the addon refuses; the message names both."""

    def __init__(self, name, value, expected):
        self.name = name
        self.value = value
        super(SettingError, self).__init__(
            "%s=%r is not valid: %s" % (name, mask_secret(name, value), expected))


def mask_secret(name, value):
    """Hide passwords, including the one inside a URL, from messages."""
    if value is None:
        return None
    if name.endswith("PASSWORD"):
        return "***"
    if name.endswith("URL"):
        return mask_url(value)
    return value


def mask_url(url):
    """``redis://user:secret@host`` -> ``redis://user:***@host``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    credentials, at, location = rest.rpartition("@")
    if not at:
        return url
    user, colon, _password = credentials.partition(":")
    return "%s://%s%s@%s" % (scheme, user, ":***" if colon else "", location)


class _EnvironmentReader(object):
    """Reads and converts the ``ODOO_SESSION_REDIS_*`` variables."""

    def __init__(self, environ):
        self.environ = environ

    def raw(self, suffix):
        name = PREFIX + ("_" + suffix if suffix else "")
        return name, self.environ.get(name)

    def text(self, suffix, default=None):
        name, value = self.raw(suffix)
        value = value.strip() if value is not None else ""
        return value or default

    def flag(self, suffix):
        name, value = self.raw(suffix)
        word = (value or "").strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise SettingError(name, value, "use one of 1/true/yes/on or 0/false/no/off")

    def integer(self, suffix, default, minimum, maximum=None, unit=""):
        name, value = self.raw(suffix)
        if value is None or not value.strip():
            return default
        expected = "expected a whole number%s, at least %d" % (unit, minimum)
        if maximum is not None:
            expected += " and at most %d" % maximum
        try:
            number = int(value.strip(), 10)
        except ValueError:
            raise SettingError(name, value, expected)
        if number < minimum or (maximum is not None and number > maximum):
            raise SettingError(name, value, expected)
        return number

    def port(self, suffix, default):
        return self.integer(suffix, default, minimum=1, maximum=65535)

    def seconds(self, suffix, default):
        return self.integer(suffix, default, minimum=1, unit=" of seconds")

    def url(self, suffix):
        name, value = self.raw(suffix)
        url = self.text(suffix)
        if url is None:
            return None
        try:
            options = parse_url(url)
        except ValueError as error:
            raise SettingError(name, value, str(error))
        database = urlparse(url).path.strip("/")
        if database and "db" not in options and not url.startswith("unix://"):
            raise SettingError(name, value, "the database after '/' must be a number")
        return url


def load_settings(environ=None):
    """Read and validate every setting; raise :class:`SettingError`."""
    read = _EnvironmentReader(os.environ if environ is None else environ)
    settings = Settings(
        enabled=read.flag(""),
        url=read.url("URL"),
        host=read.text("HOST", "localhost"),
        port=read.port("PORT", 6379),
        password=read.text("PASSWORD"),
        sentinel_host=read.text("SENTINEL_HOST"),
        sentinel_port=read.port("SENTINEL_PORT", 26379),
        sentinel_master_name=read.text("SENTINEL_MASTER_NAME"),
        prefix=read.text("PREFIX", ""),
        expiration=read.seconds("EXPIRATION", WEEK),
        expiration_anonymous=read.seconds("EXPIRATION_ANONYMOUS", THREE_HOURS),
        copy_existing_fs_sessions=read.flag("COPY_EXISTING_FS_SESSIONS"),
        purge_existing_fs_sessions=read.flag("PURGE_EXISTING_FS_SESSIONS"),
    )
    if settings.sentinel_host and not settings.sentinel_master_name:
        name, value = read.raw("SENTINEL_MASTER_NAME")
        raise SettingError(name, value, "required when %s_SENTINEL_HOST is set" % PREFIX)
    return settings


def describe(settings):
    """One log line saying where sessions go, with no secret in it."""
    if settings.sentinel_host:
        where = "sentinel %s:%d, master %r" % (
            settings.sentinel_host, settings.sentinel_port, settings.sentinel_master_name)
    elif settings.url:
        where = mask_url(settings.url)
    else:
        where = "%s:%d" % (settings.host, settings.port)
    return "%s, prefix %r, expiration %ds, anonymous expiration %ds" % (
        where, settings.prefix, settings.expiration, settings.expiration_anonymous)
