"""The store as Odoo 11 sees it: werkzeug's ``SessionStore`` of
``OpenERPSession``\\ s, which save when ``modified`` (the core's default)."""

from werkzeug.contrib.sessions import SessionStore

from ..core.store import RedisSessionStore


class Odoo11SessionStore(RedisSessionStore, SessionStore):
    """:class:`~session_redis.core.store.RedisSessionStore`, a werkzeug store."""
