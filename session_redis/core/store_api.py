"""What code outside this addon may call on the store, and the error for
what it may not.

Addons written for Odoo's filesystem store sometimes reach for its files
(``get_session_filename``). A Redis store has no file per session; rather
than let such a call end in a bare ``AttributeError`` deep in another addon,
the store raises :class:`NotOfferedByRedisStore`, which names this addon and
the documentation section listing what the store offers.
"""

DOCS_PAGE = "docs/compatibility.rst"
DOCS_SECTION = "Store API for other addons"


class NotOfferedByRedisStore(NotImplementedError):
    """A filesystem-store call that a Redis store cannot honour."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(
            "session_redis keeps web sessions in Redis: the session store has no %s (%s). "
            "See session_redis's %s, section %r." % (name, why, DOCS_PAGE, DOCS_SECTION)
        )
