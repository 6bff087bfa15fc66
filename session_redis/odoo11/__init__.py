"""Glue for Odoo 11: werkzeug's session classes, ``Root``, ``session_gc``."""

from .patch import answer_probes, filesystem_store, make_store, use_redis_sessions  # noqa: F401
