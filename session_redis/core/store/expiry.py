"""How long sessions and their indexes live: pure functions of the time
and the settings, with no Redis (tested on their own).

A session key's time-to-live is its expiration (logged-in or anonymous,
or the session's own ``expiration``), cut to what is left of
``max_lifetime``. With sliding expiry a session in use is written again
at most once per touch interval, which pushes its expiry back. An index
lives twice as long as the sessions it lists, so that it never ends
before one of them.
"""

import logging
from typing import Any, Mapping, Optional

_logger = logging.getLogger(__name__)


def own_expiration(session: Mapping[str, Any]) -> Optional[int]:
    """The ``expiration`` code put in ``session``, if it is a valid one."""
    own = session.get("expiration")
    if own is not None:
        if isinstance(own, int) and not isinstance(own, bool) and own > 0:
            return own
        _logger.warning("session expiration %r ignored: not a positive whole number of seconds", own)
    return None


def ttl_for(session: Mapping[str, Any], expiration: int, expiration_anonymous: int) -> int:
    """Seconds to keep ``session``: its own ``expiration`` if it has a valid
    one, else the logged-in or the anonymous default."""
    return own_expiration(session) or (expiration if session.get("uid") else expiration_anonymous)


def lifetime_left(created: float, now: float, max_lifetime: Optional[int]) -> Optional[int]:
    """Whole seconds left before ``max_lifetime`` (None: no limit) ends a
    session created at ``created``; 0 or less: over."""
    if not max_lifetime:
        return None
    return int(created + max_lifetime - now)


def lifetime_over(created: float, now: float, max_lifetime: Optional[int]) -> bool:
    """Has a session created at ``created`` (0: unknown) outlived ``max_lifetime``?"""
    return bool(max_lifetime and created and now - created >= max_lifetime)


def idle_over(touched: float, now: float, ttl: int) -> bool:
    """Was a session last touched at ``touched`` (0: unknown) idle for
    longer than ``ttl``? Redis expires a key after the expiration it was
    written with; a shorter one set since holds too."""
    return bool(touched and now - touched >= ttl)


def touch_due(sliding: bool, touch_interval: float, touched: float, now: float, expiration: int) -> bool:
    """Is it time to push a session's expiry back? Sliding expiry only, at
    most once per touch interval and never less than a tenth of its
    expiration."""
    return sliding and now - touched >= min(touch_interval, expiration / 10.0)


def index_ttl(ttl: int, logged_in_expiration: int) -> int:
    """Seconds an index lives after a push: twice the longest expiration
    of the session pushing it and the logged-in one, so that it never
    ends before one of its sessions, a session in use pushes it about
    once per expiration, and it is gone two expirations after the last
    push."""
    return 2 * max(ttl, logged_in_expiration)
