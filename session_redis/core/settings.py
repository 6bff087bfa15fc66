"""The addon's settings, from ``ODOO_SESSION_REDIS_*`` environment variables
or the ``[options]`` section of Odoo's configuration file, turned into one
frozen, validated :class:`Settings`.

``ODOO_SESSION_REDIS_X`` is ``session_redis_x`` in the file (the switch
itself is ``session_redis``); the environment wins over the file. Every
value is checked here, once, at start-up, so that a typo stops the server
with a message naming where the value came from and what it was, instead of
surfacing later as a strange runtime error or a silent fallback to
filesystem sessions.
"""

import collections
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import unquote_plus, urlparse

from redis.connection import parse_url

ENV_PREFIX = "ODOO_SESSION_REDIS"
CONF_PREFIX = "session_redis"

TRUE_WORDS = frozenset(["1", "true", "yes", "on"])
FALSE_WORDS = frozenset(["0", "false", "no", "off", ""])
CERT_REQS = ("required", "optional", "none")

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# A logged-in session's lifetime when ODOO_SESSION_REDIS_EXPIRATION is not
# set and Odoo has no setting of its own (Odoo's SESSION_LIFETIME, 7 days).
DEFAULT_EXPIRATION = 7 * DAY
# The same for a session without user, where Odoo has no say (Odoo 11).
DEFAULT_EXPIRATION_ANONYMOUS = 3 * HOUR


class SettingError(ValueError):
    """A setting has a value the addon refuses; the message names both.

    :param shown: the value as it may be shown, see :func:`masked`.
    """

    def __init__(self, source: str, shown: Optional[str], expected: str) -> None:
        self.source = source
        self.value = shown
        super().__init__("%s=%r is not valid: %s" % (source, shown, expected))


# Settings whose values are never shown, and those shown with their password masked.
SECRET_FIELDS = frozenset(["password", "sentinel_password", "metrics_token"])
URL_FIELDS = frozenset(["url"])


def masked(field: str, value: Optional[str]) -> Optional[str]:
    """``value`` of setting ``field`` as messages may show it: decided by
    what the setting is, never by what its name or source happens to say."""
    if value is None or field not in SECRET_FIELDS | URL_FIELDS:
        return value
    return "***" if field in SECRET_FIELDS else mask_url(value)


def mask_url(url: str) -> str:
    """``url`` with every password in it hidden: the one after ``user:``
    and any ``password=`` parameter, which redis-py reads too
    (``unix:///run/redis.sock?password=secret`` -> ``...?password=***``).
    Erring on the side of hiding: a parameter whose decoded name holds
    "password" is hidden, after ``;`` too (Python 3.7 splits on it)."""
    head, question, query = url.partition("?")
    scheme, sep, rest = head.partition("://")
    credentials, at, location = rest.rpartition("@")
    if sep and at:
        user, colon, _password = credentials.partition(":")
        head = "%s://%s%s@%s" % (scheme, user, ":***" if colon else "", location)
    if question:
        query = "".join(_masked_parameter(piece) for piece in re.split("([&;])", query))
    return head + question + query


def _masked_parameter(piece: str) -> str:
    name, equals, _value = piece.partition("=")
    if equals and "password" in unquote_plus(name).lower():
        return name + "=***"
    return piece


# --- value parsers: text -> value, or ValueError saying what was expected ---


def parse_flag(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("use one of 1/true/yes/on or 0/false/no/off")


def whole_number(minimum: int, maximum: Optional[int] = None, unit: str = "") -> Callable[[str], int]:
    expected = "expected a whole number%s, at least %d" % (unit, minimum)
    if maximum is not None:
        expected += " and at most %d" % maximum

    def parse(text: str) -> int:
        try:
            number = int(text.strip(), 10)
        except ValueError:
            raise ValueError(expected)
        if number < minimum or (maximum is not None and number > maximum):
            raise ValueError(expected)
        return number

    return parse


parse_port = whole_number(1, 65535)
parse_seconds = whole_number(1, unit=" of seconds")
parse_database = whole_number(0)


def parse_timeout(text: str) -> float:
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = 0
    if not 0 < seconds <= 3600:
        raise ValueError("expected seconds, more than 0 and at most 3600 (decimals allowed)")
    return seconds


def parse_text(text: str) -> Optional[str]:
    return text.strip() or None


# A prefix names one site's keys: ``session:<prefix>:...``. Letters, digits,
# ``-``, ``_`` and ``.`` only, so that the ACL pattern of one site
# (``~session:shop:*``) matches no other site's keys (a ``:`` would let
# ``shop`` reach ``shop:eu``); ``user`` and ``device`` name the index keys
# of a site without prefix.
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
RESERVED_PREFIXES = ("user", "device")


def parse_prefix(text: str) -> str:
    """A namespace for one site's keys (see :data:`PREFIX_PATTERN`)."""
    prefix = text.strip()
    if not prefix:
        return prefix
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(
            "a prefix is 1 to 64 letters, digits, '-', '_' or '.': with ':' or a pattern character, "
            "one site's keys would match another site's ACL pattern"
        )
    if prefix in RESERVED_PREFIXES:
        raise ValueError("%r names the index keys of a site without prefix: choose another" % prefix)
    return prefix


def parse_url_setting(text: str) -> str:
    url = text.strip()
    try:
        options = parse_url(url)
    except ValueError as error:
        raise ValueError(str(error))
    database = urlparse(url).path.strip("/")
    if database and "db" not in options and not url.startswith("unix://"):
        raise ValueError("the database after '/' must be a number")
    return url


def parse_file(text: str) -> str:
    path = text.strip()
    if not os.path.isfile(path):
        raise ValueError("no such file")
    return path


def parse_cert_reqs(text: str) -> str:
    word = text.strip().lower()
    if word not in CERT_REQS:
        raise ValueError("use one of %s" % "/".join(CERT_REQS))
    return word


def parse_hosts(text: str) -> List[Tuple[str, Optional[int]]]:
    """``host[:port],host[:port]`` -> ``[(host, port or None), ...]``."""
    hosts = []
    for item in text.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon:
            host, port = port, ""
        if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
            raise ValueError("expected host[:port] separated by commas")
        hosts.append((host, int(port) if port else None))
    return hosts


# --- the settings: (field, suffix, parser, default) -------------------------

SPECS: List[Tuple[str, str, Callable[[str], Any], Any]] = [
    ("enabled", "", parse_flag, False),
    ("url", "URL", parse_url_setting, None),
    ("host", "HOST", parse_text, "localhost"),
    ("port", "PORT", parse_port, 6379),
    ("db", "DB", parse_database, 0),
    ("username", "USERNAME", parse_text, None),
    ("password", "PASSWORD", parse_text, None),
    ("ssl", "SSL", parse_flag, False),
    ("ssl_ca_certs", "SSL_CA_CERTS", parse_file, None),
    ("ssl_certfile", "SSL_CERTFILE", parse_file, None),
    ("ssl_keyfile", "SSL_KEYFILE", parse_file, None),
    ("ssl_cert_reqs", "SSL_CERT_REQS", parse_cert_reqs, "required"),
    ("sentinel_host", "SENTINEL_HOST", parse_hosts, None),
    ("sentinel_port", "SENTINEL_PORT", parse_port, 26379),
    ("sentinel_master_name", "SENTINEL_MASTER_NAME", parse_text, None),
    ("sentinel_username", "SENTINEL_USERNAME", parse_text, None),
    ("sentinel_password", "SENTINEL_PASSWORD", parse_text, None),
    ("cluster", "CLUSTER", parse_flag, False),
    ("socket_timeout", "SOCKET_TIMEOUT", parse_timeout, 3.0),
    ("connect_timeout", "CONNECT_TIMEOUT", parse_timeout, 2.0),
    ("prefix", "PREFIX", parse_prefix, ""),
    ("expiration", "EXPIRATION", parse_seconds, None),
    ("expiration_anonymous", "EXPIRATION_ANONYMOUS", parse_seconds, None),
    ("sliding", "SLIDING", parse_flag, True),
    ("touch_interval", "TOUCH_INTERVAL", parse_seconds, MINUTE),
    ("max_lifetime", "MAX_LIFETIME", parse_seconds, None),
    ("max_size", "MAX_SIZE", whole_number(1024, unit=" of bytes"), 256 * 1024),
    ("max_sessions_per_user", "MAX_SESSIONS_PER_USER", whole_number(1), None),
    ("hash_ids", "HASH_IDS", parse_flag, False),
    ("allow_eviction", "ALLOW_EVICTION", parse_flag, False),
    ("read_early", "READ_EARLY", parse_flag, True),
    ("rotate_on_login", "ROTATE_ON_LOGIN", parse_flag, True),
    ("copy_existing_fs_sessions", "COPY_EXISTING_FS_SESSIONS", parse_flag, False),
    ("purge_existing_fs_sessions", "PURGE_EXISTING_FS_SESSIONS", parse_flag, False),
    ("metrics", "METRICS", parse_flag, False),
    ("metrics_token", "METRICS_TOKEN", parse_text, None),
]

# Fields made from SPECS: a checker cannot list them.
Settings: Any = collections.namedtuple("Settings", [spec[0] for spec in SPECS])  # type: ignore[misc]
DEFAULTS: Dict[str, Any] = {field: default for field, _suffix, _parse, default in SPECS}

# The settings that RedisSessionStore takes as its own parameters.
STORE_FIELDS = (
    "prefix",
    "expiration",
    "expiration_anonymous",
    "sliding",
    "touch_interval",
    "max_lifetime",
    "max_size",
    "max_sessions_per_user",
    "hash_ids",
    "allow_eviction",
    "read_early",
)


def env_name(suffix: str) -> str:
    return ENV_PREFIX + ("_" + suffix if suffix else "")


def conf_name(suffix: str) -> str:
    return CONF_PREFIX + ("_" + suffix.lower() if suffix else "")


def _raw_value(
    suffix: str, environ: Mapping[str, str], conf: Mapping[str, Any], conf_file: Optional[str]
) -> Tuple[Optional[str], Optional[str]]:
    """``(where it came from, text)``; ``(None, None)`` when unset."""
    name = env_name(suffix)
    if environ.get(name) is not None:
        return name, environ[name]
    value = conf.get(conf_name(suffix))
    if value is None:
        return None, None
    if isinstance(value, bool):  # Odoo's config parser turns true/false into bools
        value = "true" if value else "false"
    return "%s in %s" % (conf_name(suffix), conf_file or "the configuration file"), str(value)


def load_settings(
    environ: Optional[Mapping[str, str]] = None,
    conf: Optional[Mapping[str, Any]] = None,
    conf_file: Optional[str] = None,
) -> Any:
    """Read and validate every setting; raise :class:`SettingError`.

    :param environ: the environment (default ``os.environ``).
    :param conf: Odoo's ``[options]`` as a mapping (``odoo.tools.config.options``).
    :param conf_file: that file's name, for messages.
    """
    environ = os.environ if environ is None else environ
    conf = conf or {}
    values, sources = {}, {}
    for field, suffix, parse, default in SPECS:
        source, text = _raw_value(suffix, environ, conf, conf_file)
        sources[field] = (source or env_name(suffix), masked(field, text))
        if text is None or not text.strip():
            values[field] = default
            continue
        try:
            values[field] = parse(text)
        except ValueError as error:
            raise SettingError(*sources[field], expected=str(error))
    settings: Any = Settings(**values)
    if settings.sentinel_host and not settings.sentinel_master_name:
        raise SettingError(
            *sources["sentinel_master_name"],
            expected="required when a sentinel host (%s) is set" % sources["sentinel_host"][0],
        )
    if settings.cluster and settings.sentinel_host:
        raise SettingError(*sources["cluster"], expected="Cluster and Sentinel exclude each other")
    if bool(settings.ssl_certfile) != bool(settings.ssl_keyfile):
        field = "ssl_keyfile" if settings.ssl_certfile else "ssl_certfile"
        raise SettingError(
            *sources[field], expected="a client certificate needs both SSL_CERTFILE and SSL_KEYFILE"
        )
    return settings


def sentinel_addresses(settings: Any) -> List[Tuple[str, int]]:
    """The sentinels as ``(host, port)``, the default port filled in."""
    return [(host, port or settings.sentinel_port) for host, port in settings.sentinel_host or []]


def describe(settings: Any) -> str:
    """One log line saying where sessions go, with no secret in it."""
    if settings.sentinel_host:
        where = "sentinels %s, master %r" % (
            ",".join("%s:%d" % address for address in sentinel_addresses(settings)),
            settings.sentinel_master_name,
        )
    elif settings.url:
        where = mask_url(settings.url)
    else:
        where = "%s:%d db %d" % (settings.host, settings.port, settings.db)
    if settings.cluster:
        where = "cluster via " + where
    if settings.ssl and not (settings.url or "").startswith("rediss://"):
        where += " (TLS)"
    lifetime = ", max lifetime %ds" % settings.max_lifetime if settings.max_lifetime else ""
    expiration = "%ds" % settings.expiration if settings.expiration else "default"
    anonymous = "%ds" % settings.expiration_anonymous if settings.expiration_anonymous else "default"
    return "%s, prefix %r, %s expiration %s, anonymous %s%s" % (
        where,
        settings.prefix,
        "idle" if settings.sliding else "fixed",
        expiration,
        anonymous,
        lifetime,
    )
