"""Where a session lives in Redis, and how its stored value is framed.

Keys (``<p>:`` only with a prefix; ``<entry>`` is the session id, or with
``ODOO_SESSION_REDIS_HASH_IDS`` its SHA-256 in hexadecimal, see
:func:`hashed_id`):

- ``session:[<p>:]<entry>``: the session, a JSON string (see :mod:`.codec`)
  with the addon's times appended (see :func:`with_times`);
- ``session::<p>:<sid>``: the same session under camptocamp's older module,
  read and moved on its next save (a prefixed site only);
- ``session:[<p>:]<entry>:activity``: the last activity, for OCA's
  auth_session_timeout;
- ``session:[<p>:]user:<uid>:<db>``: a set, the entries of a user's sessions;
- ``session:[<p>:]device:<identifier>``: a set, the entries of the sessions
  of one Odoo 18+ device identifier (the first 42 characters of an id; with
  hashing, its SHA-256).

With hashing, no key and no index holds anything a client could present:
a copy of Redis logs nobody in. A session id is 40 hexadecimal characters
(Odoo 11 to 17) or 84 url-safe ones (18+), a hash 64 hexadecimal ones, so
the two forms never meet.

Every key starts with ``session:``, so one ACL pattern covers them; the
index keys never end in something that reads as a session id, so no scan
takes them for sessions. Nothing here sends anything to Redis.
"""

import hashlib
import re
from typing import Any, List, Optional, Tuple

META = "_session_redis"
# Times beyond this (Unix seconds, the year 2255) are no times of ours: a
# stored value that says otherwise is unreadable, never a date to print.
LATEST = 2**33
_META_BYTES = META.encode("ascii")


HASHED_ID = re.compile(r"[0-9a-f]{64}")
# A session id of any Odoo series: 40 hexadecimal characters (11 to 17) or
# 84 url-safe base64 ones (18 and later).
ANY_SESSION_ID = re.compile(r"[0-9a-f]{40}|[A-Za-z0-9_-]{84}")


def hashed_id(text: str) -> str:
    """The SHA-256 of a session id (or device identifier), in hexadecimal:
    what names it at rest with hashing on. Ids carry 160 random bits or
    more, so a plain hash is enough: nobody can guess an id from it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _namespace(prefix: str) -> str:
    return "session:%s:" % prefix if prefix else "session:"


def session_key(sid: str, prefix: str = "") -> str:
    """The Redis key of session ``sid``."""
    return _namespace(prefix) + sid


def legacy_session_key(sid: str, prefix: str) -> str:
    """Where camptocamp's session_redis kept a prefixed session."""
    return "session::%s:%s" % (prefix, sid)


def activity_key(sid: str, prefix: str = "") -> str:
    """The session's last-activity record: not a session key (the suffix
    keeps it out of every ``session:[<p>:]<sid>`` match)."""
    return session_key(sid, prefix) + ":activity"


def user_index_key(db: str, uid: int, prefix: str = "") -> str:
    """The set of the ids of user ``uid``'s sessions in database ``db``."""
    return "%suser:%d:%s" % (_namespace(prefix), uid, db)


def device_index_key(identifier: str, prefix: str = "") -> str:
    """The set of the ids of the sessions of one device identifier."""
    return "%sdevice:%s" % (_namespace(prefix), identifier)


def index_patterns(prefix: str = "") -> List[str]:
    """SCAN patterns of every user and device index key of ``prefix`` (with
    no prefix, they also match prefixed sites' keys whose prefix is
    ``user`` or ``device``: prefixes never take those names)."""
    return [glob_escape(_namespace(prefix)) + "user:*", glob_escape(_namespace(prefix)) + "device:*"]


def with_times(body: bytes, created: float, touched: float, indexed: float = 0) -> bytes:
    """Stored bytes: the session's canonical JSON ``body`` with the times
    appended as its last member, so that :func:`body_of` can cut them off
    again and a save can compare bodies without encoding twice. ``indexed``
    (a logged-in session only): until when its indexes live at least.
    Milliseconds are enough, and bytes formatting is the cheapest way."""
    times = b'"%s":{"created":%.3f,"touched":%.3f' % (_META_BYTES, created, touched)
    if indexed:
        times += b',"indexed":%.3f' % indexed
    return body[:-1] + (b"," if body != b"{}" else b"") + times + b"}}"


def body_of(raw: bytes) -> Optional[bytes]:
    """The body :func:`with_times` was given, or None for a value written
    otherwise (by the older module, say): such a value is always rewritten."""
    cut = raw.rfind(b'"%s":{' % META.encode("ascii"))
    if cut < 1 or raw[cut - 1 : cut] not in (b",", b"{"):
        return None
    return raw[: cut - 1] + b"}" if raw[cut - 1 : cut] == b"," else b"{}"


def times_of(meta: Any) -> Tuple[float, float, float]:
    """``(created, touched, indexed)`` from the popped :data:`META` member;
    zeros when absent (a session written by the older module or by hand, an
    anonymous one's ``indexed``). ValueError when malformed."""
    if meta is None:
        return 0, 0, 0
    try:
        times = float(meta["created"]), float(meta["touched"]), float(meta.get("indexed", 0))
    except (AttributeError, TypeError, KeyError, ValueError):
        raise ValueError("bad %s metadata" % META)
    if not all(0 <= time < LATEST for time in times):  # NaN fails every comparison
        raise ValueError("%s times out of range" % META)
    return times


def glob_escape(text: str) -> str:
    """Escape the characters Redis's MATCH treats as patterns."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
