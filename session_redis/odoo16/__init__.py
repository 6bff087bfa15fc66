"""Glue for Odoo 16 and later: Odoo's vendored session store and ``Session``,
``Application``, rotation (soft on 19), garbage collection and (18+) devices."""

from .patch import answer_probes, filesystem_store, make_store, use_redis_sessions  # noqa: F401
