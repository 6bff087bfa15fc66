"""A session as the store keeps it: what a stored value says (its owner,
its times), what is not worth storing, and what a request read, kept on
the session object for its save. Nothing here sends anything to Redis.
"""

import collections
from typing import Any, Dict, Mapping, Optional, Tuple

from ..codec import CorruptData, decode_session, encode_session
from ..layout import META, times_of, with_times

# What a session key holding another Redis type reads as: no JSON session.
NOT_A_STRING = b"<a Redis value that is not a string>"

# Where the Odoo glue records, at login, the client's IP address and browser.
LOGIN_INFO = "session_redis_login"

# What Odoo puts in every session by itself: a session with nothing else is
# not worth a write (see RedisSessionStore.save). ``db``, the context's
# ``lang`` and the website's ``geoip`` (``_geoip`` from Odoo 16 on) are
# derived from the request again whenever they are missing; any other key
# counts only with a value (the website sets ``sale_order_id`` to None while
# there is no cart; Odoo 18 starts every session with an empty ``_trace``).
ODOO_DERIVED_KEYS = frozenset(["db", "context", "geoip", "_geoip"])
ODOO_DEFAULT_CONTEXT_KEYS = frozenset(["lang"])

# What get() saw, kept on the session for save(): the sid, the JSON body
# read (without the times), the session's creation and last touch (Unix
# seconds), the key it was read from when that is another key than the one
# it is written under (see Names.keys; None: its own), its owner: ``(db,
# uid)`` of a logged-in session, else None, and until when its indexes live
# at least (Unix seconds; 0: unknown).
Loaded = collections.namedtuple("Loaded", "sid body created touched source owner indexed")


def owner_of(data: Mapping[str, Any]) -> Optional[Tuple[str, int]]:
    """``(db, uid)`` of a logged-in session, None for an anonymous one."""
    uid = data.get("uid")
    if type(uid) is int and uid > 0:  # not a bool either
        db = data.get("db")
        if type(db) is str and db:
            return db, uid
    return None


def encode_with_times(data: Mapping[str, Any], created: float, touched: float, indexed: float = 0) -> bytes:
    """The stored bytes of session ``data``."""
    return with_times(encode_session(data), created, touched, indexed)


def decoded(raw: Optional[bytes]) -> Optional[Tuple[Dict[str, Any], float, float]]:
    """``(data, created, touched)`` of stored bytes, the addon's times
    taken out of ``data``; None if gone or unreadable."""
    if raw is None:
        return None
    try:
        data = decode_session(raw)
        created, touched, _indexed = times_of(data.pop(META, None))
    except (CorruptData, ValueError):
        return None
    return data, created, touched


def holds_only_odoo_defaults(session: Mapping[str, Any]) -> bool:
    """Does ``session`` hold nothing but what Odoo puts in every session
    (no user; a database, language and location Odoo derives from the
    request again; keys without a value)?"""
    if any(
        value not in (None, False, "", {}, [])
        for key, value in session.items()
        if key not in ODOO_DERIVED_KEYS
    ):
        return False
    context = session.get("context") or {}
    return isinstance(context, dict) and ODOO_DEFAULT_CONTEXT_KEYS.issuperset(context)


def remember(session: Any, loaded: Optional[Loaded]) -> None:
    """Keep on ``session`` what its request read (None: forget it)."""
    # object.__setattr__: Odoo's session classes store other attributes as
    # session keys (the glue gives slotted classes a ``_redis_loaded`` slot)
    try:
        object.__setattr__(session, "_redis_loaded", loaded)
    except AttributeError:  # a session class without room for it: every save writes
        pass


def loaded_state(session: Any) -> Optional[Loaded]:
    """What ``session``'s request read, if it still has the id it was read by."""
    try:
        loaded = object.__getattribute__(session, "_redis_loaded")
    except AttributeError:
        return None
    return loaded if loaded is not None and loaded.sid == session.sid else None
